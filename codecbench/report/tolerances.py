"""The CI gate's default tolerances (a module of its own so that ``codecbench --help`` needs no pandas).

bpp is relative (0.02 = 2 %); the metrics are absolute, in their own units (dB, SSIM, percent).
"""

from __future__ import annotations

DEFAULT_TOLERANCES: dict[str, float] = {
    "bpp": 0.02,
    "psnr": 0.1,
    "psnr_y": 0.1,
    "ssim": 0.002,
    "ms_ssim": 0.002,
    "miou": 0.5,
    "miou_dataset": 0.5,
    "pixel_accuracy": 0.5,
    "class_accuracy": 0.5,
}
