"""BD over unequal subsets, done per image, and bootstrap intervals of BD-rates and BD-metrics.

Per image (:func:`per_image_bd`): each image's own curve, over the targets it reached (its ``ok`` points),
for the codec and for the anchor; BD-rate (%) and BD-metric of that pair (:func:`bdrate.bd_fast`, equal to
:func:`bdrate.bd`); then the mean,
the median and n over the images where both are defined. An image with fewer than two usable points on either
curve, or whose curves do not overlap, is counted and named in ``skipped``, never silently dropped. No target
is ever averaged over a different subset of images than its neighbours. For mIoU the per-image curve uses the
per-image mIoU (``miou``); the dataset-level figure (``miou_dataset``) has no per-image curve.

Common subset (:func:`curve_bd_ci`): the plotted default, x = mean bpp and y = mean metric over the targets
that *every* image of the comparison reached, BD as in :mod:`codecbench.report.bdrate`; its interval resamples
images (paired: the same draw for codec and anchor) and recomputes both curves (mIoU: the summed confusion
matrices of the drawn images). See :mod:`codecbench.report.bootstrap` for the conventions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from codecbench.report import bootstrap
from codecbench.report.bdrate import bd_fast, monotone

PER_IMAGE_METRIC = {"miou_dataset": "miou"}


@dataclass
class PerImageBD:
    """Per-image BD of codec vs anchor on one metric: values per image and their summaries."""

    codec: str
    anchor: str
    metric: str
    values: pd.DataFrame  # image_id, bd_rate, bd_metric
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image_id, reason)
    rate: bootstrap.Interval | None = None  # mean BD-rate over images with its interval
    metric_delta: bootstrap.Interval | None = None

    def summary(self) -> dict:
        r = self.values["bd_rate"].dropna()
        m = self.values["bd_metric"].dropna()
        return {"codec": self.codec, "anchor": self.anchor, "metric": self.metric,
                "bd_rate_mean": float(r.mean()) if len(r) else math.nan,
                "bd_rate_median": float(r.median()) if len(r) else math.nan, "bd_rate_n": int(len(r)),
                "bd_rate_lo": self.rate.lo if self.rate else math.nan,
                "bd_rate_hi": self.rate.hi if self.rate else math.nan,
                "bd_metric_mean": float(m.mean()) if len(m) else math.nan,
                "bd_metric_median": float(m.median()) if len(m) else math.nan, "bd_metric_n": int(len(m)),
                "bd_metric_lo": self.metric_delta.lo if self.metric_delta else math.nan,
                "bd_metric_hi": self.metric_delta.hi if self.metric_delta else math.nan,
                "skipped": len(self.skipped),
                "skipped_images": "; ".join(f"{i} ({why})" for i, why in self.skipped)}


def _ok(points: pd.DataFrame, codec: str) -> pd.DataFrame:
    return points[(points["codec"] == codec) & (points["status"] == "ok")]


def per_image_bd(points: pd.DataFrame, anchor: str, metric: str, codecs: list[str] | None = None, *,
                 resamples: int = bootstrap.DEFAULT_RESAMPLES, seed: int = bootstrap.DEFAULT_SEED
                 ) -> list[PerImageBD]:
    """Per-image BD of every codec (default: all but the anchor) against anchor on metric."""
    col = PER_IMAGE_METRIC.get(metric, metric)
    if col not in points.columns:
        return []
    codecs = [c for c in (codecs or list(dict.fromkeys(points["codec"]))) if c != anchor]
    a_ok = _ok(points, anchor)
    a_by = {h: g for h, g in a_ok.groupby("image_hash")}
    out = []
    for codec in codecs:
        rows, skipped = [], []
        mine = points[points["codec"] == codec]
        t_ok = _ok(points, codec)
        t_by = {h: g for h, g in t_ok.groupby("image_hash")}
        for h, ident in mine.groupby("image_hash")["image_id"].first().items():
            ga, gt = a_by.get(h), t_by.get(h)
            na = 0 if ga is None else len(monotone(ga["bpp"].to_numpy(float), ga[col].to_numpy(float))[0])
            nt = 0 if gt is None else len(monotone(gt["bpp"].to_numpy(float), gt[col].to_numpy(float))[0])
            if ga is None or gt is None or na < 2 or nt < 2:  # a missing curve has na or nt 0
                skipped.append((str(ident), f"{min(na, nt)} usable point(s) on the "
                                            f"{anchor if na < 2 else codec} curve"))
                continue
            d_rate, d_metric = bd_fast(monotone(ga["bpp"].to_numpy(float), ga[col].to_numpy(float))[:2],
                                       monotone(gt["bpp"].to_numpy(float), gt[col].to_numpy(float))[:2])
            if math.isnan(d_rate) and math.isnan(d_metric):
                skipped.append((str(ident), "curves do not overlap"))
                continue
            rows.append({"image_id": str(ident), "bd_rate": d_rate, "bd_metric": d_metric})
        values = pd.DataFrame(rows, columns=["image_id", "bd_rate", "bd_metric"])
        res = PerImageBD(codec, anchor, metric, values, skipped)
        r_vals, m_vals = values["bd_rate"].dropna().to_numpy(), values["bd_metric"].dropna().to_numpy()
        res.rate = bootstrap.mean_ci(r_vals, resamples=resamples, seed=seed)
        res.metric_delta = bootstrap.mean_ci(m_vals, resamples=resamples, seed=seed)
        out.append(res)
    return out


def _common(points: pd.DataFrame, codec: str, images: list[str], metric: str):
    """Per image (rows, in `images` order) × complete target (columns): bpp, metric (or confusions)."""
    g = points[points["codec"] == codec]
    targets = []
    for t, gt in g.groupby("target", sort=False):
        ok = gt[gt["status"] == "ok"].drop_duplicates("image_hash")
        if set(images) <= set(ok["image_hash"]) and ok[metric if metric != "miou_dataset" else "bpp"].notna().all():
            targets.append(t)
    if not targets:
        return None
    ok = g[(g["status"] == "ok") & g["target"].isin(targets)].drop_duplicates(["image_hash", "target"])
    ok = ok.set_index(["image_hash", "target"])
    idx = pd.MultiIndex.from_product([images, targets])
    bpp = ok["bpp"].reindex(idx).to_numpy(float).reshape(len(images), len(targets))
    if metric == "miou_dataset":
        cms = [np.asarray(c, dtype=np.int64) for c in ok["confusion"].reindex(idx)]
        vals = np.stack(cms).reshape(len(images), len(targets), *cms[0].shape)
    else:
        vals = ok[metric].reindex(idx).to_numpy(float).reshape(len(images), len(targets))
    void = bool(ok.get("confusion_void_column", pd.Series([False])).fillna(False).any())
    return bpp, vals, void


def _curve(data, w: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    from codecbench.report.reports import dataset_miou

    bpp, vals, void = data
    x = (w @ bpp) / w.sum()
    if metric == "miou_dataset":
        totals = np.tensordot(w, vals, axes=(0, 0))
        y = np.array([dataset_miou([t], void_column=void) for t in totals])
    else:
        y = (w @ vals) / w.sum()
    return monotone(x, y)[:2]


def curve_bd_ci(points: pd.DataFrame, anchor: str, codec: str, metric: str, *,
                draws: bootstrap.Draws | None = None, resamples: int = bootstrap.DEFAULT_RESAMPLES,
                seed: int = bootstrap.DEFAULT_SEED) -> tuple[bootstrap.Interval, bootstrap.Interval] | None:
    """(BD-rate, BD-metric) of the common-subset curves with bootstrap intervals; None without such curves.
    The images are those both codecs were run on; targets per codec are those all of them reached."""
    if metric not in points.columns and metric != "miou_dataset":
        return None
    if metric == "miou_dataset" and "confusion" not in points.columns:
        return None
    ha = set(points.loc[points["codec"] == anchor, "image_hash"])
    ht = set(points.loc[points["codec"] == codec, "image_hash"])
    images = sorted(ha & ht)
    if not images:
        return None
    da, dt = _common(points, anchor, images, metric), _common(points, codec, images, metric)
    if da is None or dt is None:
        return None
    d = draws if draws is not None and draws.n == len(images) else bootstrap.Draws(len(images), resamples, seed)
    cache: dict[bytes, tuple[float, float]] = {}

    def both(w: np.ndarray) -> tuple[float, float]:
        key = w.tobytes()
        if key not in cache:
            cache[key] = bd_fast(_curve(da, w, metric), _curve(dt, w, metric))
        return cache[key]

    rate = bootstrap.statistic_ci(len(images), lambda w: both(w)[0], d)
    delta = bootstrap.statistic_ci(len(images), lambda w: both(w)[1], d)
    return rate, delta
