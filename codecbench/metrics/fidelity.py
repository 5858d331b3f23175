"""Pixel-fidelity metrics, batched in torch: PSNR (RGB and luma), SSIM and MS-SSIM.

Conventions (all on RGB values 0–255, reference first):
- ``psnr``: 10·log10(255² / MSE) in dB, the MSE taken over all pixels of all three channels.
- ``psnr_y``: the same on luma Y = 0.299 R + 0.587 G + 0.114 B (BT.601 weights) on 0–255, kept in float
  (no rounding, no 16–235 offset or scaling).
- PSNR of identical images is +inf (MSE 0); stores and reports must accept inf.
- ``ssim``: Wang et al. 2004: Gaussian window 11×11, sigma 1.5, K1 0.01, K2 0.03, data range 255, population
  (co)variances; the SSIM map is computed only where the window fits inside the image (the same as
  scikit-image cropping (11-1)/2 = 5 px from each border), averaged, and the three channels' values averaged.
  NaN when a side is under 11 px (no window fits).
- ``ms_ssim``: Wang et al. 2003 through pytorch-msssim: five scales, weights 0.0448, 0.2856, 0.3001, 0.2363,
  0.1333, the same window and constants, 2×2 average pooling between scales, per channel then averaged over
  channels. NaN when a side is 160 px or less: pytorch-msssim asserts that the smaller side exceeds
  (11-1)·2⁴ = 160 so that the window still fits after four downsamplings (both precisions keep that rule). The
  float64 path passes a float64 window (pytorch-msssim's own float32 window and float32 math deviate by up to
  4e-5 on flat photos; see fastssim for how the float32 path avoids that).
Precision: ``precision="float32"`` (the default) computes SSIM and MS-SSIM with
:mod:`codecbench.metrics.fastssim` (float32 separable filters on centred data, OpenCV on the CPU, torch on CUDA;
the full-resolution maps are shared by SSIM and MS-SSIM's first scale), within 1e-5 of the float64 path (tests:
Kodak, CamVid, scikit-image photos; typically ~1e-7) and ~10–20× faster. ``precision="float64"`` is the reference
path described above (float64 torch, pytorch-msssim for MS-SSIM), the same on every device up to float64 rounding
(a test checks CPU vs CUDA to 1e-9 where CUDA is present); its batches take about 10 float64 maps of the batch's
size in memory. PSNR and PSNR-Y are float64 (exact integer MSE) under both precisions.
Devices: "cpu", "cuda" (or "cuda:N"), or "auto" (CUDA when present, else the CPU).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch

from codecbench.device import resolve_device

FIDELITY_METRICS = ("psnr", "psnr_y", "ssim", "ms_ssim")
PRECISIONS = ("float32", "float64")  # of SSIM and MS-SSIM; PSNR is float64 under both
DEFAULT_PRECISION = "float32"
OPTIONAL_METRICS = ("ssimulacra2",)  # slower, per-image numpy (codecbench/metrics/ssimulacra2.py); not batched
KNOWN_METRICS = FIDELITY_METRICS + OPTIONAL_METRICS

PEAK = 255.0
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # BT.601
SSIM_WIN, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MSSSIM_MIN_SIDE = (SSIM_WIN - 1) * 2 ** (len(MSSSIM_WEIGHTS) - 1) + 1  # 161


def msssim_defined(h: int, w: int) -> bool:
    """Whether MS-SSIM is defined for an H×W image (both sides over 160 px)."""
    return min(h, w) >= MSSSIM_MIN_SIDE


def check_metrics(metrics: Iterable[str], precision: str = DEFAULT_PRECISION) -> tuple[str, ...]:
    """The metric names as a tuple; ValueError for an unknown metric or precision."""
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in FIDELITY_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(FIDELITY_METRICS)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    return metrics


def fidelity(ref: np.ndarray, dist: np.ndarray, metrics: Iterable[str] = FIDELITY_METRICS,
             device: str = "cpu", precision: str = DEFAULT_PRECISION) -> dict[str, float]:
    """Metrics of one distorted image against its reference (both RGB uint8 H×W×3 of the same size)."""
    for name, img in (("reference", ref), ("distorted", dist)):
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            got = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
            raise ValueError(f"{name} image must be RGB uint8 H×W×3, got {got}")
    if ref.shape != dist.shape:
        raise ValueError(f"reference {ref.shape} and distorted {dist.shape} images differ in size")
    metrics = tuple(metrics)
    extra = {}
    if "ssimulacra2" in metrics:
        from codecbench.metrics.ssimulacra2 import ssimulacra2

        extra["ssimulacra2"] = ssimulacra2(ref, dist)
        metrics = tuple(m for m in metrics if m != "ssimulacra2")
    metrics = check_metrics(metrics, precision)
    if not metrics:
        return extra
    if precision == "float32" and resolve_device(device).type == "cpu":
        return {**_fidelity_fast_cpu(ref, dist, metrics), **extra}
    x = torch.from_numpy(np.array(ref, copy=True)).permute(2, 0, 1).unsqueeze(0)
    y = torch.from_numpy(np.array(dist, copy=True)).permute(2, 0, 1).unsqueeze(0)
    out = fidelity_batch(x, y, metrics, device, precision)
    return {**{k: float(v[0]) for k, v in out.items()}, **extra}


def _fidelity_fast_cpu(ref: np.ndarray, dist: np.ndarray, metrics: tuple[str, ...]) -> dict[str, float]:
    """The float32 CPU path on uint8 arrays: exact integer MSE for PSNR, float64 luma differences for PSNR-Y."""
    from codecbench.metrics import fastssim

    s = ms = math.nan
    if "ssim" in metrics or "ms_ssim" in metrics:
        s, ms = fastssim.ssim_msssim(fastssim.planes(ref), fastssim.planes(dist), "ssim" in metrics,
                                     "ms_ssim" in metrics)
    out: dict[str, float] = {}
    diff = None
    for m in metrics:
        if m in ("psnr", "psnr_y"):
            if diff is None:
                diff = ref.astype(np.int32) - dist.astype(np.int32)
            if m == "psnr":
                mse = float(np.einsum("ijk,ijk->", diff, diff, dtype=np.int64)) / diff.size
            else:
                r, g, b = LUMA_WEIGHTS
                dy = r * diff[:, :, 0] + g * diff[:, :, 1] + b * diff[:, :, 2]  # float64
                mse = float(np.mean(dy * dy))
            out[m] = 10.0 * math.log10(PEAK**2 / mse) if mse > 0 else math.inf
        else:
            out[m] = s if m == "ssim" else ms
    return out


def fidelity_batch(ref: torch.Tensor, dist: torch.Tensor, metrics: Iterable[str] = FIDELITY_METRICS,
                   device: str = "cpu", precision: str = DEFAULT_PRECISION) -> dict[str, torch.Tensor]:
    """Metrics of a batch: ref and dist are N×3×H×W tensors (any real dtype) on 0–255.

    Returns one float64 CPU tensor of N values per metric, in the order asked.
    """
    metrics = check_metrics(metrics, precision)
    if ref.shape != dist.shape:
        raise ValueError(f"reference {tuple(ref.shape)} and distorted {tuple(dist.shape)} batches differ in shape")
    if ref.ndim != 4 or ref.shape[1] != 3:
        raise ValueError(f"expected N×3×H×W tensors, got {tuple(ref.shape)}")
    dev = resolve_device(device)
    x = ref.to(dev, torch.float64)
    y = dist.to(dev, torch.float64)
    out: dict[str, torch.Tensor] = {}
    fast = {}
    if precision == "float32" and ("ssim" in metrics or "ms_ssim" in metrics):
        fast = _ssim_msssim_fast(ref.to(dev), dist.to(dev), "ssim" in metrics, "ms_ssim" in metrics)
    for m in metrics:
        if m == "psnr":
            out[m] = psnr(x, y)
        elif m == "psnr_y":
            out[m] = psnr(luma(x), luma(y))
        elif fast:
            out[m] = fast[m]
        elif m == "ssim":
            out[m] = ssim(x, y)
        else:
            out[m] = ms_ssim(x, y)
    return {k: v.detach().to("cpu", torch.float64) for k, v in out.items()}


def _ssim_msssim_fast(x: torch.Tensor, y: torch.Tensor, want_ssim: bool, want_ms: bool) -> dict[str, torch.Tensor]:
    """float32 SSIM and MS-SSIM of a batch: OpenCV per image on the CPU, batched torch elsewhere."""
    from codecbench.metrics import fastssim

    if x.device.type != "cpu":
        s, ms = fastssim.ssim_msssim_torch(x, y, want_ssim, want_ms)
        return {"ssim": s, "ms_ssim": ms}
    pairs = [fastssim.ssim_msssim(a.to(torch.float32).contiguous().numpy(), b.to(torch.float32).contiguous().numpy(),
                                  want_ssim, want_ms) for a, b in zip(x, y)]
    return {"ssim": torch.tensor([p[0] for p in pairs], dtype=torch.float64),
            "ms_ssim": torch.tensor([p[1] for p in pairs], dtype=torch.float64)}


def luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of N×3×H×W RGB on 0–255 -> N×1×H×W on 0–255 (no offset, no rounding)."""
    r, g, b = LUMA_WEIGHTS
    return (r * x[:, 0] + g * x[:, 1] + b * x[:, 2]).unsqueeze(1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image over all channels and pixels, peak 255; +inf where the images are identical."""
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(PEAK**2 / mse)  # mse 0 -> +inf


def _gaussian_taps() -> list[float]:
    r = SSIM_WIN // 2
    g = [math.exp(-(k * k) / (2 * SSIM_SIGMA**2)) for k in range(-r, r + 1)]
    s = sum(g)
    return [v / s for v in g]


_TAPS = _gaussian_taps()


def _blur_valid(x: torch.Tensor) -> torch.Tensor:
    """Separable 11-tap Gaussian over the last two axes, only where the window fits ("valid")."""
    n = len(_TAPS)
    w = x.shape[-1] - n + 1
    t = torch.mul(x[..., 0:w], _TAPS[0])
    for k in range(1, n):
        t.add_(x[..., k : k + w], alpha=_TAPS[k])
    h = t.shape[-2] - n + 1
    out = torch.mul(t[..., 0:h, :], _TAPS[0])
    for k in range(1, n):
        out.add_(t[..., k : k + h, :], alpha=_TAPS[k])
    return out


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image (N values) of N×C×H×W tensors on 0–255, averaged over channels; float64 math.

    NaN where a side is under 11 px.
    """
    n, c, h, w = x.shape
    if min(h, w) < SSIM_WIN:
        return torch.full((n,), float("nan"), dtype=torch.float64, device=x.device)
    x = x.double()
    y = y.double()
    c1 = (SSIM_K1 * PEAK) ** 2
    c2 = (SSIM_K2 * PEAK) ** 2
    mu_x, mu_y = _blur_valid(x), _blur_valid(y)
    sxx = _blur_valid(x * x).sub_(mu_x * mu_x)
    syy = _blur_valid(y * y).sub_(mu_y * mu_y)
    sxy = _blur_valid(x * y).sub_(mu_x * mu_y)
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2)
    return (num / den).flatten(2).mean(2).mean(1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MS-SSIM per image (N values) via pytorch-msssim in float64; NaN where a side is 160 px or less."""
    from pytorch_msssim import ms_ssim as _ms_ssim

    n, c, h, w = x.shape
    if not msssim_defined(h, w):
        return torch.full((n,), float("nan"), dtype=torch.float64, device=x.device)
    # Our own float64 window: pytorch-msssim builds its window in float32, whose rounding (sum of taps off by
    # ~1e-7) is amplified by the variance terms E[x²] - µ² on 0–255 data (errors up to 4e-5 on flat photos).
    win = torch.tensor(_TAPS, dtype=torch.float64, device=x.device).view(1, 1, 1, SSIM_WIN).repeat(c, 1, 1, 1)
    return _ms_ssim(
        x.double(), y.double(), data_range=PEAK, size_average=False, win=win,
        weights=list(MSSSIM_WEIGHTS), K=(SSIM_K1, SSIM_K2),
    )
