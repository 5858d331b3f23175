"""Quality metrics: pixel fidelity (PSNR, SSIM, MS-SSIM), mIoU accumulation, and segmenters.

Metrics never import codecs: they compare a reference image with a distorted one, whatever made it.
"""
