"""The convolutional autoencoder codec of Cheng et al. (2018): conv/deconv with PReLU, PCA-rotated latent,
uniform quantization and a range coder."""
