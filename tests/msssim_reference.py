"""A slow, independent MS-SSIM in numpy/scipy, written from Wang, Simoncelli & Bovik (2003), used to check
codecbench.metrics.fidelity (which calls pytorch-msssim).

Definition followed (float64 throughout, images RGB on 0–255, each channel scored alone, then averaged):
- Gaussian window 11 taps, sigma 1.5, normalised to sum 1, applied separably; statistics are kept only where the
  whole window lies inside the image ("valid" filtering).
- C1 = (0.01·255)², C2 = (0.03·255)²; population (co)variances.
- At scales 1–4 the mean contrast-structure term cs = (2σxy + C2)/(σx² + σy² + C2) is kept; at scale 5 the mean
  SSIM (luminance · cs) is kept.
- Between scales: 2×2 average pooling with stride 2. Conventions checked against pytorch-msssim 1.0 (its source:
  ``avg_pool2d(kernel_size=2, padding=[s % 2 for s in shape])``): an odd side is padded with one zero on each
  side and zeros count in the average; the windows then start one pixel before the image, so the first row/column
  of the result is half the first pixel row/column, and the trailing pad is never used.
- Negative values: each scale's mean (cs at scales 1–4, SSIM at scale 5) is clipped at 0 before the power (ReLU).
- MS-SSIM = Π_j value_j ** w_j with w = 0.0448, 0.2856, 0.3001, 0.2363, 0.1333.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import correlate1d

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN, SIGMA = 11, 1.5
C1 = (0.01 * 255.0) ** 2
C2 = (0.03 * 255.0) ** 2


def gaussian_window() -> np.ndarray:
    r = WIN // 2
    k = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-(k**2) / (2.0 * SIGMA**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray) -> np.ndarray:
    g = gaussian_window()
    r = WIN // 2
    out = correlate1d(correlate1d(img, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    return out[r:-r, r:-r]


def _stats(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure of two 2-D float64 images."""
    mx, my = _filter_valid(x), _filter_valid(y)
    vx = _filter_valid(x * x) - mx * mx
    vy = _filter_valid(y * y) - my * my
    cxy = _filter_valid(x * y) - mx * my
    cs = (2 * cxy + C2) / (vx + vy + C2)
    lum = (2 * mx * my + C1) / (mx * mx + my * my + C1)
    return float((lum * cs).mean()), float(cs.mean())


def _downsample(img: np.ndarray) -> np.ndarray:
    """2×2 average with pytorch's avg_pool2d(kernel 2, padding = side % 2, zeros counted)."""
    h, w = img.shape
    ph, pw = h % 2, w % 2
    padded = np.pad(img, ((ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - 2) // 2 + 1, (w + 2 * pw - 2) // 2 + 1
    p = padded[: 2 * oh, : 2 * ow]
    return 0.25 * (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2])


def ms_ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    """MS-SSIM of two 2-D images on 0–255."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    result = 1.0
    for j, w in enumerate(WEIGHTS):
        ssim, cs = _stats(x, y)
        if j < len(WEIGHTS) - 1:
            result *= max(cs, 0.0) ** w
            x, y = _downsample(x), _downsample(y)
        else:
            result *= max(ssim, 0.0) ** w
    return result


def ms_ssim_reference(ref: np.ndarray, dist: np.ndarray) -> float:
    """MS-SSIM of two RGB uint8 H×W×3 images: per channel, then the mean of the three."""
    return float(np.mean([ms_ssim_channel(ref[:, :, c], dist[:, :, c]) for c in range(ref.shape[2])]))
