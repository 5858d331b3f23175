"""SSIMULACRA 2 (Sneyers 2022/2023; libjxl ``tools/ssimulacra2.cc``): our numpy port, float64.

    score = ssimulacra2(reference, distorted)    # RGB uint8 H×W×3 each -> float, 100 = identical

Scale (libjxl's documentation): 100 identical, 90 very high quality (hard to tell from the original at 1:1),
70 high, 50 medium, 30 low quality; negative for extreme distortion.

The algorithm as in libjxl: sRGB → linear RGB → XYB (opsin absorbance, cube root) made positive
(X·14 + 0.42, Y + 0.01, B − Y + 0.55); six scales, each halving linear RGB by a 2×2 box (edge pixels
replicated) and converting again, stopping before a scale whose input is under 8 px; per scale and channel an
SSIM-like map (1 − ssim, clamped at 0) and the two edge maps (ringing: distorted has edges where the original
is smooth; blur: the reverse), each reduced by the 1-norm and the 4-norm; a weighted sum of those 108 numbers
mapped through libjxl's polynomial and power. The blur is libjxl's recursive Gaussian (Charalampidis 2016,
σ = 1.5, radius 5) with zeros outside the image, applied horizontally then vertically.

The 108 weights are read from the ``ssimulacra2`` PyPI package (BSD-3, copied there from libjxl); its own
``compute_ssimulacra2`` is not used: it transposes the image, blurs with scipy's Gaussian (mirrored
horizontally) and counts scales differently, and scored up to hundreds of points off libjxl on libjxl's own
reference cases (``tests/test_ssimulacra2.py``). Optional per suite (``metrics = [..., "ssimulacra2"]``):
slower than PSNR + SSIM + MS-SSIM together.
"""

from __future__ import annotations

import math

import numpy as np

NAME = "ssimulacra2"
NUM_SCALES = 6
SIGMA = 1.5
_M = np.array([[0.30, 0.622, 0.078], [0.23, 0.692, 0.078], [0.24342268924547819, 0.20476744424496821,
                                                          0.55180986650955360]])
_BIAS = 0.0037930732552754493


def _weights() -> np.ndarray:
    try:
        from ssimulacra2.ssimulacra2 import weights
    except ImportError as exc:
        raise ImportError("metric 'ssimulacra2' reads its weights from the ssimulacra2 package: "
                          "pip install ssimulacra2") from exc
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (108,):
        raise ImportError(f"ssimulacra2 package: expected 108 weights, found {w.shape}")
    return w


def _recursive_gaussian(sigma: float) -> tuple[int, np.ndarray, np.ndarray]:
    """(radius N, n2[3], d1[3]) of libjxl's CreateRecursiveGaussian (three cosine modes k = 1, 3, 5)."""
    radius = float(round(3.2795 * sigma + 0.2546))
    omega = np.pi / (2.0 * radius) * np.array([1.0, 3.0, 5.0])
    p = np.array([1.0, -1.0, 1.0]) / np.tan(0.5 * omega)
    r = np.array([1.0, -1.0, 1.0]) * p * p / np.sin(omega)
    rho = np.exp(-0.5 * sigma * sigma * omega * omega) / radius
    d13 = p[0] * r[1] - r[0] * p[1]
    d35 = p[1] * r[2] - r[1] * p[2]
    d51 = p[2] * r[0] - r[2] * p[0]
    zeta15, zeta35 = d35 / d13, d51 / d13
    a = np.array([p, r, [zeta15, zeta35, 1.0]])
    gamma = np.array([1.0, radius * radius - sigma * sigma, zeta15 * rho[0] + zeta35 * rho[1] + rho[2]])
    beta = np.linalg.solve(a, gamma)
    n2 = -beta * np.cos(omega * (radius + 1.0))
    d1 = -2.0 * np.cos(omega)
    return int(radius), n2, d1


_RG = _recursive_gaussian(SIGMA)


def _blur_axis0(x: np.ndarray) -> np.ndarray:
    """The recursive Gaussian along axis 0 (zeros outside), vectorised over the other axes."""
    n_rad, n2, d1 = _RG
    size = x.shape[0]
    out = np.empty_like(x)
    zero = np.zeros(x.shape[1:])
    prev = [zero, zero, zero]
    prev2 = [zero, zero, zero]
    for n in range(-n_rad + 1, size):
        left = x[n - n_rad - 1] if n - n_rad - 1 >= 0 else zero
        right = x[n + n_rad - 1] if n + n_rad - 1 < size else zero
        s = left + right
        total = 0.0
        for k in range(3):
            o = n2[k] * s - d1[k] * prev[k] - prev2[k]
            prev2[k], prev[k] = prev[k], o
            total = total + o
        if n >= 0:
            out[n] = total
    return out


def blur(x: np.ndarray) -> np.ndarray:
    """libjxl's Blur of an H×W×C plane stack: horizontal pass, then vertical."""
    h = _blur_axis0(np.ascontiguousarray(x.transpose(1, 0, 2))).transpose(1, 0, 2)
    return _blur_axis0(np.ascontiguousarray(h))


def srgb_to_linear(img: np.ndarray) -> np.ndarray:
    v = img.astype(np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def positive_xyb(linear: np.ndarray) -> np.ndarray:
    """Linear RGB H×W×3 → XYB made positive as in ssimulacra2.cc (X·14 + 0.42, Y + 0.01, B − Y + 0.55)."""
    mixed = np.maximum(linear @ _M.T + _BIAS, 0.0)
    mixed = np.cbrt(mixed) - np.cbrt(_BIAS)
    x = 0.5 * (mixed[..., 0] - mixed[..., 1])
    y = 0.5 * (mixed[..., 0] + mixed[..., 1])
    b = mixed[..., 2]
    return np.stack([x * 14.0 + 0.42, y + 0.01, b - y + 0.55], axis=-1)


def downsample2(img: np.ndarray) -> np.ndarray:
    """2×2 box average; a missing last row/column repeats the edge pixel (libjxl's Downsample)."""
    h, w = img.shape[:2]
    if h % 2:
        img = np.concatenate([img, img[-1:]], axis=0)
    if w % 2:
        img = np.concatenate([img, img[:, -1:]], axis=1)
    return 0.25 * (img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2])


def _norms(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: the mean (1-norm) and the 4-norm of an H×W×3 error map."""
    d4 = (d * d) ** 2
    return d.mean(axis=(0, 1)), np.sqrt(np.sqrt(d4.mean(axis=(0, 1))))


def _scale_features(img1: np.ndarray, img2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ssim[3, 2], edge[3, 4]) of one scale: SSIM map 1-/4-norm; ringing 1/4, blur 1/4 per channel."""
    mu1, mu2 = blur(img1), blur(img2)
    s11, s22, s12 = blur(img1 * img1), blur(img2 * img2), blur(img1 * img2)
    num_m = 1.0 - (mu1 - mu2) ** 2
    num_s = 2.0 * (s12 - mu1 * mu2) + 0.0009
    den_s = (s11 - mu1 * mu1) + (s22 - mu2 * mu2) + 0.0009
    d = np.maximum(1.0 - num_m * num_s / den_s, 0.0)
    ssim = np.stack(_norms(d), axis=1)
    d1 = (1.0 + np.abs(img2 - mu2)) / (1.0 + np.abs(img1 - mu1)) - 1.0
    a1, a4 = _norms(np.maximum(d1, 0.0))
    b1, b4 = _norms(np.maximum(-d1, 0.0))
    return ssim, np.stack([a1, a4, b1, b4], axis=1)


def score_from_features(features: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """libjxl's Msssim::Score: weighted sum (weights walk channel, scale, norm) then the final mapping."""
    w = _weights()
    total, i = 0.0, 0
    for c in range(3):
        for ssim, edge in features:
            for n in range(2):
                total += w[i] * abs(ssim[c, n]) + w[i + 1] * abs(edge[c, n]) + w[i + 2] * abs(edge[c, n + 2])
                i += 3
    total *= 0.9562382616834844
    total = 2.326765642916932 * total - 0.020884521182843837 * total**2 + 6.248496625763138e-05 * total**3
    return 100.0 - 10.0 * total**0.6276336467831387 if total > 0 else 100.0


def ssimulacra2(ref: np.ndarray, dist: np.ndarray) -> float:
    """SSIMULACRA 2 score of dist against ref (RGB uint8 H×W×3 of the same size); NaN under 8 px a side."""
    for name, img in (("reference", ref), ("distorted", dist)):
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            got = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
            raise ValueError(f"ssimulacra2: {name} image must be RGB uint8 H×W×3, got {got}")
    if ref.shape != dist.shape:
        raise ValueError(f"ssimulacra2: reference {ref.shape} and distorted {dist.shape} differ in size")
    if min(ref.shape[:2]) < 8:
        return math.nan
    lin1, lin2 = srgb_to_linear(ref), srgb_to_linear(dist)
    features = []
    for scale in range(NUM_SCALES):
        if scale:
            if min(lin1.shape[:2]) < 8:
                break
            lin1, lin2 = downsample2(lin1), downsample2(lin2)
        features.append(_scale_features(positive_xyb(lin1), positive_xyb(lin2)))
    return score_from_features(features)
