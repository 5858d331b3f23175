"""Fast float32 SSIM and MS-SSIM (the default ``precision = "float32"`` of :mod:`codecbench.metrics.fidelity`).

Same definitions as the float64 path (Wang et al. 2004 / 2003: Gaussian window 11 taps, sigma 1.5, K1 0.01,
K2 0.03, data range 255, population (co)variances, "valid" filtering, pytorch-msssim's 2×2 average pooling with
zero padding of odd sides, ReLU of each scale's mean, per channel then averaged). Two things keep float32 within
~1e-6 of float64 (the tests bound it at 1e-5 on Kodak, CamVid and scikit-image photos):

- Centred data: each scale's pixels are shifted by one integer per channel (the rounded mean of both images)
  before the second moments are filtered, so E[x²] − µ² cancels on numbers near 0 instead of near 128².
  Variances do not depend on the shift; the means get it back for the luminance term.
- Difference form: with d = x − y (exact in float32: integers, or multiples of 1/4ʲ at scale j),
  luminance l = 1 − µd² / (µx² + µy² + C1) and contrast-structure cs = 1 − σd² / (σx² + σy² + C2), which
  equal (2µxµy + C1)/(µx² + µy² + C1) and (2σxy + C2)/(σx² + σy² + C2). The small numerators come from d,
  never from a difference of two large numbers; the denominators only need relative precision.

The pyramid itself stays exact in float32 (averages of 4 values of 8 + 2j bits). Map means are taken in float64.
The CPU path filters C×H×W float32 planes with OpenCV's separable filter (one thread per call when the caller
has set ``cv2.setNumThreads(1)``); :func:`ssim_stats_torch` is the same math in torch for CUDA (element-wise
shifted adds, so no TF32 convolution can creep in).
Memory: 7 float32 scratch maps of the image's size, kept per thread between calls up to 16 MB each (33 MB in all
for a 768×512 pair); larger images allocate theirs per call.
"""

from __future__ import annotations

import math
import threading
from typing import cast

import numpy as np

SSIM_WIN, SSIM_SIGMA, SSIM_K1, SSIM_K2, PEAK = 11, 1.5, 0.01, 0.03, 255.0
C1 = (SSIM_K1 * PEAK) ** 2
C2 = (SSIM_K2 * PEAK) ** 2
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_R = SSIM_WIN // 2


def gaussian_taps() -> list[float]:
    """The 11 normalised Gaussian taps (sigma 1.5), computed in float64."""
    g = [math.exp(-(k * k) / (2 * SSIM_SIGMA**2)) for k in range(-_R, _R + 1)]
    s = sum(g)
    return [v / s for v in g]


_TAPS32 = np.asarray(gaussian_taps(), dtype=np.float32)


_local = threading.local()
_WORK_BUFFERS = 7
_KEEP_MAX = 1 << 22  # values per buffer kept between calls (16 MB; a 1024×2048 RGB image is 6.3 M values)


def _workspace(size: int) -> list[np.ndarray]:
    """Flat float32 scratch buffers (7, at least size values each). Up to _KEEP_MAX values they are this thread's
    and are reused across calls, so the filters write into memory already mapped (fresh allocations cost more
    than the arithmetic here); larger images get fresh buffers for the call."""
    if size > _KEEP_MAX:
        return [np.empty(size, dtype=np.float32) for _ in range(_WORK_BUFFERS)]
    bufs = getattr(_local, "bufs", None)
    if bufs is None or bufs[0].size < size:
        bufs = _local.bufs = [np.empty(size, dtype=np.float32) for _ in range(_WORK_BUFFERS)]
    return bufs


def _as(buf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A contiguous array of this shape over the start of a flat buffer."""
    return buf[: math.prod(shape)].reshape(shape)


def _blur(img: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Separable Gaussian of a C×H×W float32 stack of planes into out (same shape), returned cropped to where
    the window fits: C×(H−10)×(W−10)."""
    import cv2

    for c in range(img.shape[0]):
        cv2.sepFilter2D(img[c], cv2.CV_32F, _TAPS32, _TAPS32, dst=out[c], borderType=cv2.BORDER_REFLECT)
    return out[:, _R:-_R, _R:-_R]


def _plane_means(a: np.ndarray) -> np.ndarray:
    """Per-plane mean of a C×H×W array, accumulated in float64 (OpenCV's mean)."""
    import cv2

    return np.array([cv2.mean(a[c])[0] for c in range(a.shape[0])], dtype=np.float64)


def ssim_stats(x: np.ndarray, y: np.ndarray, want_ssim: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """Per-plane mean SSIM (None unless want_ssim) and mean cs of two C×H×W float32 stacks on 0–255.

    Both sides must be at least 11 px. Works in place in the scratch buffers (the comments say which holds what).
    """
    shape = x.shape
    valid = (shape[0], shape[1] - 2 * _R, shape[2] - 2 * _R)
    b0, b1, b2, b3, b4, b5, b6 = _workspace(x.size)
    off = np.round((_plane_means(x) + _plane_means(y)) / 2).astype(np.float32)[:, None, None]
    xc = np.subtract(x, off, out=_as(b0, shape))
    yc = np.subtract(y, off, out=_as(b1, shape))
    d = np.subtract(xc, yc, out=_as(b2, shape))
    mx = _blur(xc, _as(b3, shape))
    my = _blur(yc, _as(b4, shape))
    exx = _blur(np.multiply(xc, xc, out=xc), _as(b5, shape))
    eyy = _blur(np.multiply(yc, yc, out=yc), _as(b0, shape))  # xc spent
    edd = _blur(np.multiply(d, d, out=d), _as(b1, shape))  # yc spent
    ud2 = np.subtract(mx, my, out=_as(b2, valid))  # d spent; µd = µxc − µyc
    np.multiply(ud2, ud2, out=ud2)
    tmp = _as(b6, valid)
    # den2 = σx² + σy² + C2 = (E[xc²] − µxc²) + (E[yc²] − µyc²) + C2 in place of E[xc²] (symmetric in x, y)
    den2 = exx
    den2 -= np.multiply(mx, mx, out=tmp)
    eyy -= np.multiply(my, my, out=tmp)
    den2 += eyy
    den2 += C2
    # cs = 1 − (E[d²] − µd²) / den2, in place of E[d²]
    cs = edd
    cs -= ud2
    cs /= den2
    np.subtract(1.0, cs, out=cs)
    cs_mean = _plane_means(cs)
    if not want_ssim:
        return None, cs_mean
    # luminance = 1 − µd² / (µx² + µy² + C1), µ = µc + off, in place of µd²; den1 in place of E[y²]
    mx += off
    my += off
    den1 = np.multiply(mx, mx, out=eyy)
    den1 += np.multiply(my, my, out=tmp)
    den1 += C1
    ud2 /= den1
    np.subtract(1.0, ud2, out=ud2)
    ud2 *= cs
    return _plane_means(ud2), cs_mean


def downsample(a: np.ndarray) -> np.ndarray:
    """2×2 average pooling of C×H×W planes as pytorch's avg_pool2d(kernel 2, stride 2, padding = side % 2,
    zeros counted)."""
    h, w = a.shape[1:]
    ph, pw = h % 2, w % 2
    if ph or pw:
        a = np.pad(a, ((0, 0), (ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - 2) // 2 + 1, (w + 2 * pw - 2) // 2 + 1
    p = a[:, : 2 * oh, : 2 * ow]
    out = p[:, 0::2, 0::2] + p[:, 1::2, 0::2]
    out += p[:, 0::2, 1::2]
    out += p[:, 1::2, 1::2]
    out *= 0.25
    return out


def planes(img) -> np.ndarray:
    """An H×W×C image (numpy, any real dtype) as a contiguous C×H×W float32 stack."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(img), 2, 0), dtype=np.float32)


def ssim_msssim(x: np.ndarray, y: np.ndarray, ssim: bool = True, ms_ssim: bool = True) -> tuple[float, float]:
    """(SSIM, MS-SSIM) of two C×H×W float32 plane stacks (see :func:`planes`) on 0–255; the full-resolution
    maps are shared.

    SSIM is NaN when a side is under 11 px, MS-SSIM when a side is 160 px or less; one not asked for is NaN.
    """
    h, w = x.shape[1:]
    nan = float("nan")
    if min(h, w) < SSIM_WIN or not (ssim or ms_ssim):
        return nan, nan
    ms_ok = ms_ssim and min(h, w) > (SSIM_WIN - 1) * 2 ** (len(MSSSIM_WEIGHTS) - 1)
    if not (ssim or ms_ok):
        return nan, nan
    s1, cs = ssim_stats(x, y, want_ssim=ssim)
    ssim_value = float(cast(np.ndarray, s1).mean()) if ssim else nan
    if not ms_ok:
        return ssim_value, nan
    levels = [np.maximum(cs, 0.0)]
    for j in range(1, len(MSSSIM_WEIGHTS)):
        x, y = downsample(x), downsample(y)
        last = j == len(MSSSIM_WEIGHTS) - 1
        s, cs = ssim_stats(x, y, want_ssim=last)
        levels.append(np.maximum(cast(np.ndarray, s) if last else cs, 0.0))
    weights = np.asarray(MSSSIM_WEIGHTS, dtype=np.float64)[:, None]
    return ssim_value, float(np.prod(np.stack(levels) ** weights, axis=0).mean())


# ---------------------------------------------------------------------------------------------------------------
# The same in torch (N×C×H×W), for CUDA


def _blur_torch(x):
    """Separable 11-tap Gaussian over the last two axes, "valid", as shifted float32 adds (no convolution)."""
    taps = gaussian_taps()
    n = len(taps)
    w = x.shape[-1] - n + 1
    t = x[..., 0:w] * taps[0]
    for k in range(1, n):
        t.add_(x[..., k : k + w], alpha=taps[k])
    h = t.shape[-2] - n + 1
    out = t[..., 0:h, :] * taps[0]
    for k in range(1, n):
        out.add_(t[..., k : k + h, :], alpha=taps[k])
    return out


def ssim_stats_torch(x, y, want_ssim: bool = True):
    """Per-image, per-channel (N×C float64) mean SSIM (None unless want_ssim) and mean cs; float32 math."""
    x, y = x.float(), y.float()
    off = torch_round_offset(x, y)
    xc, yc = x - off, y - off
    d = xc - yc
    mx, my = _blur_torch(xc), _blur_torch(yc)
    exx, eyy, edd = _blur_torch(xc * xc), _blur_torch(yc * yc), _blur_torch(d * d)
    ud = mx - my
    ud2 = ud * ud
    cs = 1.0 - (edd - ud2) / ((exx - mx * mx) + (eyy - my * my) + C2)
    cs_mean = cs.double().flatten(2).mean(2)
    if not want_ssim:
        return None, cs_mean
    mx, my = mx + off, my + off
    lum = 1.0 - ud2 / (mx * mx + my * my + C1)
    return (lum * cs).double().flatten(2).mean(2), cs_mean


def torch_round_offset(x, y):
    """N×C×1×1 integer shift per image and channel: the rounded mean of both images (float32)."""
    m = (x.double().flatten(2).mean(2) + y.double().flatten(2).mean(2)) / 2
    return m.round().float()[:, :, None, None]


def ssim_msssim_torch(x, y, ssim: bool = True, ms_ssim: bool = True):
    """(SSIM, MS-SSIM) per image, N float64 values each, of N×C×H×W tensors on 0–255 (NaN where undefined)."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    nan = torch.full((n,), float("nan"), dtype=torch.float64, device=x.device)
    if min(h, w) < SSIM_WIN or not (ssim or ms_ssim):
        return nan, nan.clone()
    ms_ok = ms_ssim and min(h, w) > (SSIM_WIN - 1) * 2 ** (len(MSSSIM_WEIGHTS) - 1)
    if not (ssim or ms_ok):
        return nan, nan.clone()
    x, y = x.float(), y.float()
    s1, cs = ssim_stats_torch(x, y, want_ssim=ssim)
    ssim_value = s1.mean(1) if ssim else nan
    if not ms_ok:
        return ssim_value, nan.clone()
    levels = [torch.relu(cs)]
    for j in range(1, len(MSSSIM_WEIGHTS)):
        pad = [s % 2 for s in x.shape[2:]]
        x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
        last = j == len(MSSSIM_WEIGHTS) - 1
        s, cs = ssim_stats_torch(x, y, want_ssim=last)
        levels.append(torch.relu(s if last else cs))
    weights = torch.tensor(MSSSIM_WEIGHTS, dtype=torch.float64, device=x.device)[:, None, None]
    return ssim_value, (torch.stack(levels) ** weights).prod(0).mean(1)
