"""Tables with bootstrap intervals: per codec and target means, BD against an anchor, paired comparisons.

- :func:`mean_intervals`: per (codec, target) and metric, the mean over the ok points with its 95 % interval
  (resampling images); ``miou_dataset`` resamples the per-image confusion matrices.
- :func:`bd_intervals`: per codec and metric, the common-subset BD-rate and BD-metric (the plotted default,
  see :mod:`codecbench.report.bdstats`) with intervals, beside the per-image BD mean, median and n, and the
  images left out of the per-image figure with the reason.
- :func:`paired_at_target`: codec minus anchor at one target over the images both reached (mean difference
  of a metric, or difference of dataset mIoU) with its interval, and whether the interval excludes 0.
Seeded (default seed 0, 1000 resamples); same inputs give the same intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from codecbench.report import bdstats, bootstrap
from codecbench.report.reports import METRIC_TITLES, metric_columns

CI_METRICS = ("psnr", "psnr_y", "ssim", "ms_ssim", "ssimulacra2", "miou_dataset")
DIGITS = {"psnr": 2, "psnr_y": 2, "ssim": 4, "ms_ssim": 4, "ssimulacra2": 2, "miou": 2, "miou_dataset": 2}


def _void(ok: pd.DataFrame) -> bool:
    return bool(ok.get("confusion_void_column", pd.Series([False])).fillna(False).any())


def mean_intervals(points: pd.DataFrame, *, resamples: int = bootstrap.DEFAULT_RESAMPLES,
                   seed: int = bootstrap.DEFAULT_SEED) -> pd.DataFrame:
    """One row per (codec, target, metric): n, estimate, lo, hi."""
    metrics = [m for m in metric_columns(points) if m in CI_METRICS or m == "miou"]
    rows = []
    for (codec, target), g in points.groupby(["codec", "target"], sort=False):
        ok = g[g["status"] == "ok"]
        if ok.empty:
            continue
        for m in metrics:
            v = ok[m].astype(float)
            v = v[np.isfinite(v)]
            if len(v):
                iv = bootstrap.mean_ci(v.to_numpy(), resamples=resamples, seed=seed)
                rows.append({"codec": codec, "target": target, "metric": m, **iv.as_dict()})
        if "confusion" in ok.columns and ok["confusion"].notna().all():
            iv = bootstrap.miou_ci(list(ok["confusion"]), void_column=_void(ok), resamples=resamples, seed=seed)
            rows.append({"codec": codec, "target": target, "metric": "miou_dataset", **iv.as_dict()})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    order = df.assign(_c=df["codec"].astype(str).str.lower(), _t=pd.to_numeric(df["target"], errors="coerce"))
    return order.sort_values(["_c", "_t"], kind="stable").drop(columns=["_c", "_t"]).reset_index(drop=True)


def bd_intervals(points: pd.DataFrame, anchor: str, metrics: list[str] | None = None, *,
                 resamples: int = bootstrap.DEFAULT_RESAMPLES, seed: int = bootstrap.DEFAULT_SEED
                 ) -> pd.DataFrame:
    """One row per (codec, metric): common-subset BD-rate/BD-metric with [lo, hi], per-image summaries.
    Fixed-rate codecs (one point per image, target ``fixed``) have no curve and are left out."""
    have = set(points.columns)
    if metrics is None:
        metrics = [m for m in CI_METRICS if (m in have and points[m].notna().any())
                   or (m == "miou_dataset" and "confusion" in have)]
    fixed = set(points.groupby("codec")["target"].agg(lambda t: set(t) == {"fixed"}).loc[lambda s: s].index)
    codecs = [c for c in dict.fromkeys(points["codec"]) if c != anchor and c not in fixed]  # one point: no curve
    rows = []
    for m in metrics:
        per = {r.codec: r for r in bdstats.per_image_bd(points, anchor, m, codecs, resamples=resamples, seed=seed)}
        for c in codecs:
            row = {"codec": c, "anchor": anchor, "metric": m}
            ci = bdstats.curve_bd_ci(points, anchor, c, m, resamples=resamples, seed=seed)
            if ci is not None:
                row.update(bd_rate=ci[0].estimate, bd_rate_lo=ci[0].lo, bd_rate_hi=ci[0].hi,
                           bd_metric=ci[1].estimate, bd_metric_lo=ci[1].lo, bd_metric_hi=ci[1].hi, images=ci[0].n)
            if c in per:
                s = per[c].summary()
                row.update({f"per_image_{k}": v for k, v in s.items() if k not in ("codec", "anchor", "metric")})
            rows.append(row)
    return pd.DataFrame(rows)


def paired_at_target(points: pd.DataFrame, anchor: str, target: str, metric: str, *,
                     resamples: int = bootstrap.DEFAULT_RESAMPLES, seed: int = bootstrap.DEFAULT_SEED
                     ) -> pd.DataFrame:
    """Codec minus anchor at one target (fixed-rate codecs: their single point) over paired images."""
    rows = []
    a = points[(points["codec"] == anchor) & (points["target"] == target) & (points["status"] == "ok")]
    a = a.drop_duplicates("image_hash").set_index("image_hash")
    for c in dict.fromkeys(points["codec"]):
        if c == anchor:
            continue
        g = points[(points["codec"] == c) & (points["status"] == "ok")]
        g = g[g["target"] == target] if (g["target"] == target).any() else g[g["target"] == "fixed"]
        g = g.drop_duplicates("image_hash").set_index("image_hash")
        common = sorted(set(a.index) & set(g.index))
        if not common:
            continue
        if metric == "miou_dataset":
            if "confusion" not in g.columns:
                continue
            iv = bootstrap.paired_miou_ci(list(a.loc[common, "confusion"]), list(g.loc[common, "confusion"]),
                                          void_column=_void(g), resamples=resamples, seed=seed)
        else:
            va, vb = a.loc[common, metric].to_numpy(float), g.loc[common, metric].to_numpy(float)
            keep = np.isfinite(va) & np.isfinite(vb)
            if not keep.any():
                continue
            iv = bootstrap.paired_ci(va[keep], vb[keep], resamples=resamples, seed=seed)
        rows.append({"codec": c, "anchor": anchor, "target": target, "metric": metric,
                     "bpp": float(g.loc[common, "bpp"].mean()), "anchor_bpp": float(a.loc[common, "bpp"].mean()),
                     "missing": int(len(points.loc[(points["codec"] == c), "image_hash"].unique()) - len(common)),
                     **iv.as_dict(), "beyond_noise": iv.excludes(0.0)})
    return pd.DataFrame(rows)


def _unit(m: str) -> str:
    return " (dB)" if m.startswith("psnr") else (" (pts)" if "miou" in m else "")


def _iv(est: float, lo: float, hi: float, d: int, sign: bool = True) -> str:
    if est is None or (isinstance(est, float) and math.isnan(est)):
        return "–"
    f = f"{{:{'+' if sign else ''}.{d}f}}"
    return f"{f.format(est)} [{f.format(lo)}, {f.format(hi)}]"


def bd_intervals_markdown(df: pd.DataFrame) -> str:
    """Markdown: per codec and metric, common-subset BD with 95 % intervals, then the per-image figures."""
    if df.empty:
        return "_no BD intervals (need an anchor and curves with at least two points)_\n"
    anchor = df["anchor"].iloc[0]
    lines = [f"BD vs **{anchor}** with 95 % bootstrap intervals over images (1000 resamples, seed 0). "
             "common subset: the plotted curves (targets every image reached); per image: each image's own "
             "curve over the targets it reached, mean / median / n.", "",
             "| codec | metric | BD-rate (%) common subset | BD-rate per image: mean [95 %] / median / n | "
             "BD-metric common subset | BD-metric per image: mean / median / n | images left out |",
             "|---|---|--:|--:|--:|--:|---|"]
    for _, r in df.iterrows():
        m = r["metric"]
        d = DIGITS.get(m, 3)
        title = METRIC_TITLES.get(m, m).split(" (")[0] + _unit(m)

        def g(k, default=math.nan):
            v = r.get(k, default)
            return default if v is None or (isinstance(v, float) and math.isnan(v)) else v

        per_rate = ("–" if not g("per_image_bd_rate_n", 0) else
                    f"{_iv(g('per_image_bd_rate_mean'), g('per_image_bd_rate_lo'), g('per_image_bd_rate_hi'), 1)}"
                    f" / {g('per_image_bd_rate_median'):+.1f} / {int(g('per_image_bd_rate_n'))}")
        per_metric = ("–" if not g("per_image_bd_metric_n", 0) else
                      f"{g('per_image_bd_metric_mean'):+.{d}f} / {g('per_image_bd_metric_median'):+.{d}f} / "
                      f"{int(g('per_image_bd_metric_n'))}")
        left = g("per_image_skipped", 0)
        names = str(r.get("per_image_skipped_images") or "")
        left_s = "0" if not left else f"{int(left)}: " + (names if len(names) < 160 else names[:157] + "…")
        lines.append(f"| {r['codec']} | {title} | {_iv(g('bd_rate'), g('bd_rate_lo'), g('bd_rate_hi'), 1)} | "
                     f"{per_rate} | {_iv(g('bd_metric'), g('bd_metric_lo'), g('bd_metric_hi'), d)} | "
                     f"{per_metric} | {left_s.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def paired_markdown(df: pd.DataFrame) -> str:
    if df.empty:
        return "_no paired comparison_\n"
    r0 = df.iloc[0]
    m = r0["metric"]
    d = DIGITS.get(m, 3)
    lines = [f"{METRIC_TITLES.get(m, m)}: codec − **{r0['anchor']}** at target {r0['target']} over the images "
             "both reached, 95 % bootstrap interval (paired); ✱ = the interval excludes 0 (beyond noise).", "",
             "| codec | bpp | anchor bpp | images | difference [95 %] | beyond noise |", "|---|--:|--:|--:|--:|:-:|"]
    for _, r in df.iterrows():
        lines.append(f"| {r['codec']} | {r['bpp']:.4f} | {r['anchor_bpp']:.4f} | {int(r['n'])} | "
                     f"{_iv(r['estimate'], r['lo'], r['hi'], d)} | {'✱' if r['beyond_noise'] else ''} |")
    return "\n".join(lines) + "\n"


def mean_intervals_markdown(df: pd.DataFrame) -> str:
    """Markdown: one row per codec and target, one column per metric: mean [95 % interval] (n in its own column)."""
    if df.empty:
        return "_no ok points_\n"
    metrics = [m for m in (*CI_METRICS[:5], "miou", "miou_dataset") if m in set(df["metric"])]
    head = ["codec", "target", "n"] + [METRIC_TITLES.get(m, m) for m in metrics]
    lines = ["Means over images with 95 % bootstrap intervals (1000 resamples, seed 0; mIoU: the summed confusion "
             "matrices of the resampled images).", "", "| " + " | ".join(head) + " |",
             "|---|---" + "|--:" * (len(head) - 2) + "|"]
    for (codec, target), g in df.groupby(["codec", "target"], sort=False):
        by = {r["metric"]: r for _, r in g.iterrows()}
        n = int(max(r["n"] for r in by.values()))
        cells = [str(codec), str(target), str(n)]
        for m in metrics:
            r = by.get(m)
            cells.append("–" if r is None else _iv(r["estimate"], r["lo"], r["hi"], DIGITS.get(m, 3), sign=False))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
