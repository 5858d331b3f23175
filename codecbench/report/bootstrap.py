"""Bootstrap confidence intervals over images (seeded, percentile method).

- Resampling unit: the image. One resample draws n images with replacement from the n images; every codec
  and target of a comparison uses the same draw (paired), so differences between codecs keep the pairing.
- Defaults: 1000 resamples, seed 0, 95 % level; the interval is the 2.5th and 97.5th percentile of the
  resampled statistic (``numpy.percentile``, linear interpolation).
- :func:`mean_ci`: mean of per-image values (PSNR in dB, SSIM, ...). :func:`miou_ci`: dataset mIoU (percent)
  of the summed per-image confusion matrices, resampling the matrices. :func:`paired_ci` and
  :func:`paired_miou_ci`: codec B minus codec A over the images both have. :func:`statistic_ci`: any
  statistic of a weight vector (how often each image was drawn), used for curve BD-rates.

    draws = Draws(n_images, resamples=1000, seed=0)   # counts[b, i] = times image i is in resample b
    lo, hi = mean_ci(values, draws).interval
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95


class Draws:
    """The bootstrap draws for n images: ``index`` (B×n image indices) and ``counts`` (B×n multiplicities)."""

    def __init__(self, n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED):
        if n < 1:
            raise ValueError("bootstrap needs at least one image")
        if resamples < 1:
            raise ValueError("bootstrap needs at least one resample")
        self.n, self.resamples, self.seed = n, resamples, seed
        rng = np.random.default_rng(seed)
        self.index = rng.integers(0, n, size=(resamples, n))
        self.counts = np.zeros((resamples, n), dtype=np.int64)
        np.add.at(self.counts, (np.arange(resamples)[:, None], self.index), 1)


@dataclass
class Interval:
    """A point estimate (on all images) with its bootstrap interval [lo, hi] at ``level``; n images."""

    estimate: float
    lo: float
    hi: float
    n: int
    level: float = DEFAULT_LEVEL
    resamples: int = DEFAULT_RESAMPLES

    @property
    def interval(self) -> tuple[float, float]:
        return self.lo, self.hi

    def excludes(self, value: float = 0.0) -> bool:
        """Whether the interval lies wholly on one side of value (e.g. a difference beyond noise)."""
        return bool(self.lo > value or self.hi < value)

    def brackets(self, digits: int = 2) -> str:
        """``12.34 [11.90, 12.80]``."""
        if math.isnan(self.estimate):
            return "–"
        return f"{self.estimate:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"

    def as_dict(self) -> dict:
        return dict(vars(self))


def _percentiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not s.size:
        return math.nan, math.nan
    a = (1.0 - level) / 2.0
    lo, hi = np.percentile(s, [100 * a, 100 * (1 - a)])
    return float(lo), float(hi)


def _draws(n: int, draws: Draws | None, resamples: int, seed: int) -> Draws:
    if draws is None:
        return Draws(n, resamples, seed)
    if draws.n != n:
        raise ValueError(f"draws are for {draws.n} images, the values for {n}")
    return draws


def mean_ci(values: Sequence[float] | np.ndarray, draws: Draws | None = None, *, resamples: int = DEFAULT_RESAMPLES,
            seed: int = DEFAULT_SEED, level: float = DEFAULT_LEVEL) -> Interval:
    """Mean of per-image values with its bootstrap interval (NaN values are not allowed: drop them first)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level, resamples)
    d = _draws(v.size, draws, resamples, seed)
    boot = (d.counts @ v) / v.size if np.isfinite(v).all() else v[d.index].mean(axis=1)
    lo, hi = _percentiles(boot, level)
    return Interval(float(v.mean()), lo, hi, int(v.size), level, d.resamples)


def paired_ci(a: Sequence[float], b: Sequence[float], draws: Draws | None = None, **kw) -> Interval:
    """Mean of b − a over paired images (same order) with its interval: codec B against codec A."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape:
        raise ValueError(f"paired values differ in length: {xa.size} and {xb.size}")
    return mean_ci(xb - xa, draws, **kw)


def _miou_of(total: np.ndarray, void_column: bool) -> float:
    from codecbench.report.reports import dataset_miou

    return dataset_miou([total], void_column=void_column)


def miou_ci(confusions: Sequence[np.ndarray], draws: Draws | None = None, *, void_column: bool = False,
            resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
            level: float = DEFAULT_LEVEL) -> Interval:
    """Dataset mIoU (percent; IoU of the summed matrices) with its interval from resampling the matrices."""
    cms = np.asarray([np.asarray(c, dtype=np.int64) for c in confusions])
    if not len(cms):
        return Interval(math.nan, math.nan, math.nan, 0, level, resamples)
    d = _draws(len(cms), draws, resamples, seed)
    flat = cms.reshape(len(cms), -1)
    totals = (d.counts @ flat).reshape(d.resamples, *cms.shape[1:])
    boot = np.array([_miou_of(t, void_column) for t in totals])
    lo, hi = _percentiles(boot, level)
    return Interval(_miou_of(cms.sum(axis=0), void_column), lo, hi, len(cms), level, d.resamples)


def paired_miou_ci(conf_a: Sequence[np.ndarray], conf_b: Sequence[np.ndarray], draws: Draws | None = None, *,
                   void_column: bool = False, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                   level: float = DEFAULT_LEVEL) -> Interval:
    """Dataset mIoU of B minus that of A (points), both resampled with the same images (same order)."""
    a = np.asarray([np.asarray(c, dtype=np.int64) for c in conf_a])
    b = np.asarray([np.asarray(c, dtype=np.int64) for c in conf_b])
    if a.shape != b.shape:
        raise ValueError(f"paired confusion matrices differ: {a.shape} and {b.shape}")
    d = _draws(len(a), draws, resamples, seed)
    ta = (d.counts @ a.reshape(len(a), -1)).reshape(d.resamples, *a.shape[1:])
    tb = (d.counts @ b.reshape(len(b), -1)).reshape(d.resamples, *b.shape[1:])
    boot = np.array([_miou_of(y, void_column) - _miou_of(x, void_column) for x, y in zip(ta, tb)])
    lo, hi = _percentiles(boot, level)
    est = _miou_of(b.sum(axis=0), void_column) - _miou_of(a.sum(axis=0), void_column)
    return Interval(est, lo, hi, len(a), level, d.resamples)


def statistic_ci(n: int, statistic: Callable[[np.ndarray], float], draws: Draws | None = None, *,
                 resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                 level: float = DEFAULT_LEVEL) -> Interval:
    """Any statistic of image weights (length-n counts; all ones = every image once) with its interval."""
    d = _draws(n, draws, resamples, seed)
    est = float(statistic(np.ones(n, dtype=np.int64)))
    boot = np.array([statistic(c) for c in d.counts], dtype=np.float64)
    lo, hi = _percentiles(boot, level)
    return Interval(est, lo, hi, n, level, d.resamples)
