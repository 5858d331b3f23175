"""The GAN autoencoder codec (Agustsson et al., "Generative Adversarial Networks for Extreme Learned Image
Compression", 2019): encoder, quantizer, range-coded bitstream, training, and the `gan` codec plugin.

Conventions: images are RGB uint8 H×W×3 outside the network and float tensors N×3×H×W on [-1, 1] inside it;
the latent is N×F×(H/16)×(W/16); symbols are centre indices 0..L-1.
"""
