"""Bjøntegaard deltas of every codec against an anchor, for any metric, with the ``bjontegaard`` package.

- BD-rate (%): average bitrate difference at equal quality (negative = the codec needs fewer bits than the
  anchor), integrated over the overlapping quality range; method ``pchip``.
- BD-metric: average quality difference at equal rate (in the metric's units, e.g. dB for PSNR, points of
  mIoU), integrated over the overlapping log-rate range.
- Inputs are the aggregated curves (x = mean achieved bpp, y = mean metric per target, see
  :mod:`codecbench.report.reports`), by default over "complete" targets only (every image reached them).
  PCHIP needs a strictly increasing curve, so points that do not raise the
  metric over the previous (lower-rate) point are dropped before fitting (``dropped`` counts them).
- overlap = |intersection| / |union| of the two log-rate ranges; below ``min_overlap`` (default 0.5) the
  result carries a warning, since the delta then rests on a small part of either curve. With no overlap
  (in log-rate or in metric range) the delta is NaN.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from codecbench.errors import BadInput
from codecbench.report.reports import METRIC_TITLES, curves

METHOD = "pchip"
DEFAULT_MIN_OVERLAP = 0.5


@dataclass
class BDResult:
    """codec vs anchor on one metric. bd_rate in percent; bd_metric in the metric's units."""

    codec: str
    anchor: str
    metric: str
    bd_rate: float
    bd_metric: float
    overlap: float
    points: int
    dropped: int
    warning: str | None = None

    def as_dict(self) -> dict:
        return dict(vars(self))


def monotone(rate: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Sort by rate and keep only points whose quality is above every lower-rate point kept so far."""
    order = np.argsort(rate, kind="stable")
    r, q = np.asarray(rate, float)[order], np.asarray(quality, float)[order]
    keep_r: list[float] = []
    keep_q: list[float] = []
    for a, b in zip(r, q):
        if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
            continue
        if keep_q and (b <= keep_q[-1] or a <= keep_r[-1]):
            continue
        keep_r.append(a)
        keep_q.append(b)
    return np.array(keep_r), np.array(keep_q), len(r) - len(keep_r)


def log_rate_overlap(r1: np.ndarray, r2: np.ndarray) -> float:
    a0, a1 = math.log10(r1.min()), math.log10(r1.max())
    b0, b1 = math.log10(r2.min()), math.log10(r2.max())
    union = max(a1, b1) - min(a0, b0)
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    return inter / union if union > 0 else 0.0


def bd(anchor: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], *, codec: str = "test",
       anchor_name: str = "anchor", metric: str = "psnr", min_overlap: float = DEFAULT_MIN_OVERLAP) -> BDResult:
    """BD-rate and BD-metric of test against anchor; each is (bpp array, metric array)."""
    import bjontegaard as bjd

    ra, qa, da = monotone(*anchor)
    rt, qt, dt = monotone(*test)
    res = BDResult(codec, anchor_name, metric, math.nan, math.nan, math.nan, len(rt), da + dt)
    if len(ra) < 2 or len(rt) < 2:
        res.warning = "fewer than 2 usable points on a curve"
        return res
    res.overlap = log_rate_overlap(ra, rt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if res.overlap > 0:
            res.bd_metric = float(bjd.bd_psnr(ra, qa, rt, qt, method=METHOD, require_matching_points=False,
                                              min_overlap=0))
        if min(qa.max(), qt.max()) > max(qa.min(), qt.min()):
            res.bd_rate = float(bjd.bd_rate(ra, qa, rt, qt, method=METHOD, require_matching_points=False,
                                            min_overlap=0))
    notes = []
    if res.overlap < min_overlap:
        notes.append(f"log-rate ranges overlap only {100 * res.overlap:.0f} %")
    if math.isnan(res.bd_rate):
        notes.append("quality ranges do not overlap")
    if res.dropped:
        notes.append(f"{res.dropped} non-monotone point(s) dropped")
    res.warning = "; ".join(notes) or None
    return res


def bd_fast(anchor: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """(BD-rate %, BD-metric) of two curves already passed through :func:`monotone`, computed like
    ``bjontegaard`` (pchip, integral over the overlap) but without its per-call overhead; NaN where a curve
    has < 2 points or the ranges do not overlap. Used for bootstrap resamples; equal to :func:`bd`."""
    from scipy.interpolate import PchipInterpolator

    (ra, qa), (rt, qt) = anchor, test
    if len(ra) < 2 or len(rt) < 2:
        return math.nan, math.nan

    def delta(xa, ya, xt, yt) -> float:
        lo, hi = max(xa.min(), xt.min()), min(xa.max(), xt.max())
        if hi <= lo:
            return math.nan
        ia = PchipInterpolator(xa, ya).integrate(lo, hi)
        it = PchipInterpolator(xt, yt).integrate(lo, hi)
        return float((it - ia) / (hi - lo))

    la, lt = np.log10(ra), np.log10(rt)
    d_rate = delta(qa, la, qt, lt)
    return (math.nan if math.isnan(d_rate) else (10 ** d_rate - 1) * 100), delta(la, qa, lt, qt)


def bd_table(agg: pd.DataFrame, anchor: str, metrics: list[str] | None = None,
             min_overlap: float = DEFAULT_MIN_OVERLAP, complete: bool = True) -> list[BDResult]:
    """BD results of every codec (and reference) in agg against the anchor codec, for each metric.
    complete: use only targets every image reached (see :func:`codecbench.report.reports.curves`)."""
    codecs = list(dict.fromkeys(agg["codec"]))
    if anchor not in codecs:
        raise BadInput(f"anchor codec {anchor!r} is not in the results; codecs: {', '.join(codecs)}")
    if metrics is None:
        metrics = [m for m in ("psnr", "psnr_y", "ssim", "ms_ssim", "miou_dataset")
                   if m in agg.columns and agg[m].notna().any()]
    out = []
    for m in metrics:
        cs = curves(agg, m, complete=complete)
        if anchor not in cs:
            continue
        for codec in codecs:
            if codec != anchor and codec in cs:
                out.append(bd(cs[anchor], cs[codec], codec=codec, anchor_name=anchor, metric=m,
                              min_overlap=min_overlap))
    return out


def bd_frame(results: list[BDResult]) -> pd.DataFrame:
    return pd.DataFrame([r.as_dict() for r in results])


def bd_markdown(results: list[BDResult]) -> str:
    """One row per codec, BD-rate and BD-metric columns per metric, then the warnings."""
    if not results:
        return "_no BD results (need an anchor and at least two points per curve)_\n"
    anchor = results[0].anchor
    metrics = list(dict.fromkeys(r.metric for r in results))
    codecs = list(dict.fromkeys(r.codec for r in results))
    by = {(r.codec, r.metric): r for r in results}
    head = ["codec"]
    for m in metrics:
        unit = "dB" if m.startswith("psnr") else ("pts" if "miou" in m else "")
        head += [f"BD-rate {METRIC_TITLES.get(m, m).split(' (')[0]} (%)",
                 f"BD-{METRIC_TITLES.get(m, m).split(' (')[0]}" + (f" ({unit})" if unit else "")]
    lines = [f"BD vs **{anchor}** (pchip; negative BD-rate = fewer bits than {anchor} at equal quality)", "",
             "| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
    for c in codecs:
        cells = [c]
        for m in metrics:
            r = by.get((c, m))
            flag = " ⚠" if r and r.warning else ""
            cells.append("–" if r is None or math.isnan(r.bd_rate) else f"{r.bd_rate:+.1f}{flag}")
            digits = 4 if m in ("ssim", "ms_ssim") else 2
            cells.append("–" if r is None or math.isnan(r.bd_metric) else f"{r.bd_metric:+.{digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    warn = [f"- ⚠ {r.codec} / {r.metric}: {r.warning}" for r in results if r.warning]
    if warn:
        lines += ["", *warn]
    return "\n".join(lines) + "\n"


def bd_latex(results: list[BDResult]) -> str:
    """The BD table of :func:`bd_markdown` as a LaTeX tabular (booktabs), warnings as a footnote list."""
    if not results:
        return "% no BD results (need an anchor and at least two points per curve)\n"
    anchor = results[0].anchor
    metrics = list(dict.fromkeys(r.metric for r in results))
    codecs = list(dict.fromkeys(r.codec for r in results))
    by = {(r.codec, r.metric): r for r in results}

    def esc(s: str) -> str:
        return s.replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%").replace("_", r"\_")

    head = ["codec"]
    for m in metrics:
        t = esc(METRIC_TITLES.get(m, m).split(" (")[0])
        head += [f"BD-rate {t} (\\%)", f"BD-{t}"]
    lines = [f"% BD vs {esc(anchor)} (pchip); negative BD-rate = fewer bits than {esc(anchor)} at equal quality",
             r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}", r"\toprule", " & ".join(head) + r" \\",
             r"\midrule"]
    for c in codecs:
        cells = [esc(c)]
        for m in metrics:
            r = by.get((c, m))
            flag = r"$^\dagger$" if r and r.warning else ""
            cells.append("--" if r is None or math.isnan(r.bd_rate) else f"${r.bd_rate:+.1f}${flag}")
            digits = 4 if m in ("ssim", "ms_ssim") else 2
            cells.append("--" if r is None or math.isnan(r.bd_metric) else f"${r.bd_metric:+.{digits}f}$")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"% $\\dagger$ {esc(r.codec)} / {esc(r.metric)}: {esc(r.warning)}" for r in results if r.warning]
    return "\n".join(lines) + "\n"
