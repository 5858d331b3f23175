"""codecbench: classical and learned image codecs side by side at low bitrates.

Conventions used throughout: images are RGB, uint8, H×W×3 numpy arrays; rates are in
bits per pixel (bpp) of the original image, computed from the real bytes; PSNR is in dB.
"""

__version__ = "0.1.0"
