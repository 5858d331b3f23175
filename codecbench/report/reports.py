"""Tables from a result store: per codec and target, mean achieved bpp and mean ± std of every metric.

Aggregation (the convention used by tables, BD-rates, plots and the CI check):
- A point is one (image, codec, target). Points are grouped by codec label and target.
- Only ``ok`` points enter the means: an ``unreachable`` point (the codec cannot go as low as the target;
  stored with its lowest bpp) is counted in ``unreachable`` and kept out of the means at that target, and a
  failed point is counted in ``failed``.
- x of a curve = mean achieved bpp over the group's points; y = mean of the per-image metric values
  (PSNR averaged in dB, not via mean MSE). Curves, BD and plots use by default only "complete" targets,
  where every image has an ok point (see :func:`curves`); the table shows every target with its n. ``*_std`` is
  the sample standard deviation (ddof=1) across images.
- mIoU: ``miou`` is the mean of per-image mIoU; ``miou_dataset`` is the IoU of the summed per-image confusion
  matrices (the usual dataset-level figure), used for curves and BD.
- Fixed-rate codecs have target ``fixed`` (one group per codec); knob sweeps have one group per knob value.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from codecbench.run.store import INPUT_CODEC_KEY, Store

METRIC_ORDER = ("psnr", "psnr_y", "ssim", "ms_ssim", "ssimulacra2", "miou", "pixel_accuracy", "class_accuracy")
CURVE_METRICS = ("psnr", "psnr_y", "ssim", "ms_ssim", "ssimulacra2", "miou_dataset")
METRIC_TITLES = {
    "psnr": "PSNR (dB)", "psnr_y": "PSNR-Y (dB)", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "ssimulacra2": "SSIMULACRA 2",
    "miou": "mIoU per image (%)", "miou_dataset": "mIoU (%)", "pixel_accuracy": "pixel accuracy (%)",
    "class_accuracy": "class accuracy (%)", "bpp": "bpp",
}  # fmt: skip


def load_points(store: str | Path | Store) -> pd.DataFrame:
    """Every stored point as one row: identity, rate, status, timing, one column per metric, ``confusion``."""
    own = not isinstance(store, Store)
    db = store if isinstance(store, Store) else Store(store, read_only=True)
    try:
        rows = []
        for r in db.records():
            # an image that could not be loaded: listed by the run, not a point
            if r.get("codec_key") == INPUT_CODEC_KEY:
                continue
            row = {k: v for k, v in r.items() if k not in ("metrics", "trials", "traceback", "details", "segmenter")}
            row["codec_name"] = r.get("codec")
            row["codec"] = r.get("label") or r.get("codec")
            row.update(r.get("metrics") or {})
            rows.append(row)
    finally:
        if own:
            db.close()
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    for col in ("bpp", "target_bpp", *[m for m in METRIC_ORDER if m in df.columns]):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The metric columns present in a points frame, in the standard order."""
    return [m for m in METRIC_ORDER if m in df.columns and df[m].notna().any()]


def _target_sort(target: str, bpp: float) -> float:
    try:
        return float(target)
    except ValueError:
        return bpp if not math.isnan(bpp) else math.inf


def aggregate(points: pd.DataFrame, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per (codec, target): n, unreachable, failed, bpp, bpp_std, each metric and its _std,
    miou_dataset where confusion matrices exist. Sorted by codec (case-insensitively), then target."""
    if points.empty:
        return pd.DataFrame(columns=["codec", "target", "target_bpp", "n", "unreachable", "failed", "bpp"])
    metrics = list(metrics) if metrics is not None else metric_columns(points)
    rows = []
    for (codec, target), g in points.groupby(["codec", "target"], sort=False):
        ok = g[g["status"] == "ok"]
        row: dict[str, Any] = {
            "codec": codec,
            "target": target,
            "target_bpp": g["target_bpp"].iloc[0],
            "n": int(len(ok)),
            "unreachable": int((g["status"] == "unreachable").sum()),
            "failed": int((g["status"] == "error").sum()),
            "bpp": ok["bpp"].mean() if len(ok) else math.nan,
            "bpp_std": ok["bpp"].std(ddof=1) if len(ok) > 1 else math.nan,
        }
        for m in metrics:
            vals = ok[m].astype(float) if m in ok.columns else pd.Series(dtype=float)
            row[m] = _mean(vals)
            row[f"{m}_std"] = vals.std(ddof=1) if len(vals) > 1 and np.isfinite(vals).all() else math.nan
        if "confusion" in ok.columns and ok["confusion"].notna().any():
            void = bool(ok.get("confusion_void_column", pd.Series([False])).fillna(False).any())
            row["miou_dataset"] = dataset_miou(ok["confusion"].dropna(), void_column=void)
        if "segmenters" in ok.columns:  # [[segmenters]] suites: miou_dataset[label] per segmenter
            from codecbench.report.segmenters import group_mious

            row.update(group_mious(ok))
        rows.append(row)
    agg = pd.DataFrame(rows)
    agg["_order"] = [_target_sort(t, b) for t, b in zip(agg["target"], agg["bpp"])]
    agg["_codec"] = agg["codec"].astype(str).str.lower()  # rows sort case-insensitively (AVIF, jpeg, WebP)
    agg = agg.sort_values(["_codec", "_order"], kind="stable").drop(columns=["_order", "_codec"])
    agg = agg.reset_index(drop=True)
    return agg


def _mean(vals: pd.Series) -> float:
    vals = vals.dropna()
    return float(vals.mean()) if len(vals) else math.nan


def dataset_miou(confusions: Iterable[Any], void_column: bool = False) -> float:
    """mIoU (percent) of the sum of per-image confusion matrices (rows = truth, cols = prediction).

    void_column: the matrices are (C+1)×(C+1) with a last column of "void" answers (segmenter registry's
    convention); the void entry then counts as a miss but is not a class of the mean."""
    from codecbench.metrics.miou import scores_from_confusion

    total = None
    for cm in confusions:
        a = np.asarray(cm, dtype=np.int64)
        total = a if total is None else total + a
    if total is None:
        return math.nan
    if void_column:
        from codecbench.metrics.segmenters.registry import scores

        return float(scores(total).miou)
    return float(scores_from_confusion(total).miou)


def curves(agg: pd.DataFrame, metric: str, complete: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per codec: (mean bpp, mean metric) over its targets, sorted by bpp.

    complete=True (the default for curves, BD and plots) keeps only targets where every image has an ok point
    (no unreachable or failed point), so each point of a curve averages the same images; a target reached by
    only the easier images would otherwise bias the curve. complete=False keeps every target with ≥ 1 ok point.
    Reference curves (n = NaN) are always kept."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if metric not in agg.columns:
        return out
    for codec, g in agg.groupby("codec", sort=False):
        keep = g["n"].isna() | (g["n"] > 0)
        if complete:
            zero = pd.Series(0, index=g.index)
            bad = g.get("unreachable", zero).fillna(0) + g.get("failed", zero).fillna(0)
            keep &= g["n"].isna() | (bad == 0)
        g = g[keep & g["bpp"].notna() & g[metric].notna()].sort_values("bpp")
        if len(g):
            out[codec] = (g["bpp"].to_numpy(float), g[metric].to_numpy(float))
    return out


def with_references(agg: pd.DataFrame, references: Iterable[Any]) -> pd.DataFrame:
    """Append reference curves (see :mod:`codecbench.report.compressai`) as extra codecs (n = NaN).
    A reference named like a codec (or like another reference) is a ValueError, never a silent merge."""
    references = list(references)
    names = list(dict.fromkeys(agg["codec"])) if "codec" in agg.columns else []
    for ref in references:
        if ref.name in names:
            raise ValueError(f"reference {ref.name!r} ({ref.source}) has the name of a codec in the results; "
                             "rename it (its curve would merge into that codec's)")
        names.append(ref.name)
    frames = [agg] + [ref.as_aggregate() for ref in references]
    return pd.concat([f for f in frames if not f.empty], ignore_index=True) if len(frames) > 1 else agg


# ---------------------------------------------------------------------------------------------------------------
# Formatting


def table_columns(agg: pd.DataFrame) -> list[str]:
    metrics = [m for m in METRIC_ORDER if m in agg.columns and agg[m].notna().any()]
    if "miou_dataset" in agg.columns and agg["miou_dataset"].notna().any():
        metrics.append("miou_dataset")
    from codecbench.report.segmenters import COLUMN

    metrics += [c for c in agg.columns if COLUMN.match(c) and agg[c].notna().any()]
    return metrics


def _fmt(x: Any, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}f}"


_DIGITS = {"bpp": 4, "psnr": 2, "psnr_y": 2, "ssim": 4, "ms_ssim": 4, "ssimulacra2": 2, "miou": 2, "miou_dataset": 2,
           "pixel_accuracy": 2, "class_accuracy": 2}


def _cells(agg: pd.DataFrame, latex: bool = False) -> tuple[list[str], list[list[str]]]:
    metrics = table_columns(agg)
    pm = r" $\pm$ " if latex else " ± "
    from codecbench.report.segmenters import title

    head = ["codec", "target bpp", "n", "unreach.", "failed", "bpp"] + [METRIC_TITLES.get(m) or title(m) or m
                                                                        for m in metrics]
    body = []
    for _, r in agg.iterrows():
        target = r["target"]
        cells = [str(r["codec"]), target if not _is_float(target) else f"{float(target):g}",
                 "ref" if pd.isna(r["n"]) else str(int(r["n"])),
                 "" if pd.isna(r.get("unreachable")) else str(int(r["unreachable"])),
                 "" if pd.isna(r.get("failed")) else str(int(r["failed"]))]
        for m in ["bpp", *metrics]:
            mean = r.get(m, math.nan)
            std = r.get(f"{m}_std", math.nan)
            d = _DIGITS.get(m, 2 if m.startswith("miou_dataset[") else 3)
            cells.append(_fmt(mean, d) + ("" if pd.isna(std) else pm + _fmt(std, d)))
        body.append(cells)
    return head, body


def _is_float(s: Any) -> bool:
    try:
        float(s)
        return True
    except (TypeError, ValueError):
        return False


def to_markdown(agg: pd.DataFrame) -> str:
    head, body = _cells(agg)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < 2 else "--:" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def to_latex(agg: pd.DataFrame, caption: str | None = None) -> str:
    head, body = _cells(agg, latex=True)

    def esc(s: str) -> str:
        return (s.replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%").replace("_", r"\_")
                .replace("#", r"\#").replace("–", "--").replace("∞", r"$\infty$")) if "$" not in s else s

    lines = [r"\begin{tabular}{ll" + "r" * (len(head) - 2) + "}", r"\toprule",
             " & ".join(esc(h) for h in head) + r" \\", r"\midrule"]
    lines += [" & ".join(esc(c) for c in row) + r" \\" for row in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines = [r"\begin{table}", r"\centering", *lines, rf"\caption{{{esc(caption)}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(agg: pd.DataFrame) -> str:
    return agg.to_csv(index=False, float_format="%.6g")


def points_csv(points: pd.DataFrame) -> str:
    """The points frame as CSV (confusion matrices left out; they stay in the store)."""
    cols = [c for c in ("dataset", "image_id", "image_hash", "width", "height", "codec", "codec_name",
                        "codec_version", "settings", "target", "target_bpp", "knob", "bpp", "bytes", "status",
                        *metric_columns(points), "encodes", "rate_s", "decode_s", "metric_s", "device", "error")
            if c in points.columns]
    out = points[cols].copy()
    if "settings" in out.columns:  # the effective settings (defaults included) are those of the codec key
        eff = points["codec_key"].map(_key_settings) if "codec_key" in points.columns else out["settings"]
        out["settings"] = [";".join(f"{k}={v}" for k, v in sorted((e or s or {}).items()))
                           for e, s in zip(eff, out["settings"])]
    return out.to_csv(index=False, float_format="%.6g")


def _key_settings(codec_key: Any) -> dict:
    """The settings part of a codec key ``name@version{json}`` (defaults included), {} if absent."""
    import json

    try:
        return json.loads(str(codec_key)[str(codec_key).index("{"):])
    except ValueError:
        return {}
