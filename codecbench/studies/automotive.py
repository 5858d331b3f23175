"""The automotive study (issue 6): "higher PSNR does not mean better segmentation", from one result store.

Outputs beside the store (besides the runner's standard tables and plots):
- ``table_0.0625.md/.csv``: the paper's Table II at one target: per codec, PSNR (dB), SSIM, MS-SSIM and mIoU (%)
  over ALL frames. Classical codecs: their points at that target; a frame the codec cannot bring down to the
  target (``unreachable``) enters with its lowest-rate stream, so the row's mean bpp says how far above the
  target the codec really is, and ``≤ target`` counts the frames that met it. GAN rows: the fixed-rate
  checkpoints whose nominal rate F·log2(L)/256 (or, lacking it, real mean bpp) is within ±25 % of the target.
  mIoU = IoU of the summed per-frame confusion matrices (void answers count as misses); ``mIoU/frame`` is the
  mean of per-frame mIoU.
- ``rd_gan_curve.png/.svg`` (+ ``_logx``): the four-panel figure (PSNR, SSIM, MS-SSIM, mIoU against mean bpp) where
  the quantized GAN checkpoints (labels ``GAN F<F> L<L>``) are joined into one curve ``GAN (F, L sweep)``; the
  no-quantization ablation stays a separate point. ``bdrate_gan_curve.md/.csv``: BD-rates vs the anchor on it.
- ``timing.md``: wall time of each run (from ``runs.jsonl``, appended by the study script) and the seconds of
  each stage summed over the stored points: rate control (all trial encodes), decode, fidelity metrics,
  segmentation (ESPNet forward + confusion matrix + label load).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from codecbench.atomicio import atomic_write_text
from codecbench.report import bdrate, plots, reports
from codecbench.run.store import Store

GAN_LABEL = re.compile(r"^GAN F(\d+) L(\d+)( \(equal budget\))?$")
EQUAL_BUDGET = " (equal budget)"
GAN_CURVE = "GAN (F, L sweep)"
TABLE_TOLERANCE = 0.25

# Reference figures of the paper (Cityscapes, ~0.0625 bpp), quoted for comparison; not computed here.
PAPER_CITYSCAPES = (("JPEG 2000", 34.03, 46.0), ("GAN", 27.73, 50.4))


def codec_details(store: str | Path) -> dict[str, dict[str, Any]]:
    """label -> the codec ``details`` recorded with its points (GAN: model_id, F, L, nominal_bpp, ...)."""
    out: dict[str, dict[str, Any]] = {}
    with Store(store, read_only=True) as db:
        for r in db.records():
            if r.get("label") not in out and r.get("details") is not None:
                out[r["label"]] = r["details"]
    return out


# ---------------------------------------------------------------------------------------------------------------
# The table at one target


def _nominal(details: dict[str, Any] | None) -> float | None:
    v = (details or {}).get("nominal_bpp")
    return float(v) if v is not None else None


def table_at(points: pd.DataFrame, target: float, details: dict[str, dict[str, Any]] | None = None,
             tolerance: float = TABLE_TOLERANCE) -> pd.DataFrame:
    """One row per codec at ``target`` bpp (see the module docstring for the rules). Columns: codec, frames,
    at_target (frames whose stream met the target), bpp, psnr, ssim, ms_ssim, miou_dataset, miou (per-frame mean),
    failed."""
    details = details or {}
    rows = []
    usable = points[points["status"].isin(["ok", "unreachable"])]
    failed = points[points["status"] == "error"]
    for codec, g in usable.groupby("codec", sort=False):
        fixed = (g["target"] == "fixed").all()
        if fixed:
            nominal = _nominal(details.get(codec))
            rate = nominal if nominal is not None else float(g["bpp"].mean())
            if abs(rate - target) > tolerance * target:
                continue
            sel = g
        else:
            sel = g[np.isclose(g["target_bpp"].astype(float), target)]
            if sel.empty:
                continue
        row: dict[str, Any] = {
            "codec": codec,
            "frames": int(len(sel)),
            "at_target": int((sel["bpp"] <= target + 1e-12).sum()),
            "bpp": float(sel["bpp"].mean()),
        }
        for m in ("psnr", "ssim", "ms_ssim", "miou"):
            row[m] = float(sel[m].mean()) if m in sel.columns else math.nan
        if "confusion" in sel.columns and sel["confusion"].notna().any():
            void = bool(sel.get("confusion_void_column", pd.Series([False])).fillna(False).any())
            row["miou_dataset"] = reports.dataset_miou(sel["confusion"].dropna(), void_column=void)
        else:
            row["miou_dataset"] = math.nan
        row["failed"] = int(((failed["codec"] == codec) & (
            (failed["target"] == "fixed") if fixed else np.isclose(failed["target_bpp"].astype(float), target)
        )).sum()) if len(failed) else 0
        rows.append(row)
    cols = ["codec", "frames", "at_target", "bpp", "psnr", "ssim", "ms_ssim", "miou_dataset", "miou", "failed"]
    return pd.DataFrame(rows, columns=cols)


def uncompressed_miou(images: Iterable[Any], segmenter: str = "espnet", **options: Any) -> dict[str, float]:
    """The segmenter on the uncompressed frames (ImageRefs with labels): dataset mIoU (%, IoU of the summed
    confusion matrices), mean per-frame mIoU (%) and the number of frames: the ceiling of every row."""
    from codecbench.datasets import load_image, load_label
    from codecbench.metrics.segmenters import registry as segreg

    seg = segreg.create(segmenter, **options)
    total, per = None, []
    for ref in images:
        cm = segreg.confusion(seg.predict(load_image(ref)[None])[0], load_label(ref), seg.num_classes,
                              seg.ignore_index)
        per.append(float(segreg.scores(cm).miou))
        total = cm if total is None else total + cm
    if total is None:
        return {"frames": 0, "miou_dataset": math.nan, "miou": math.nan}
    return {"frames": len(per), "miou_dataset": float(segreg.scores(total).miou), "miou": float(np.mean(per))}


def table_markdown(table: pd.DataFrame, target: float, uncompressed: dict[str, float] | None = None) -> str:
    def f(x: float, d: int) -> str:
        return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"

    lines = [f"Table at {target:g} bpp (mean over frames; mIoU = IoU of summed confusion matrices, %)", "",
             "| codec | frames | ≤ target | bpp | PSNR (dB) | SSIM | MS-SSIM | mIoU (%) | mIoU/frame (%) |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    if uncompressed:
        lines.append(f"| uncompressed (ESPNet ceiling) | {uncompressed['frames']} | – | 24 | ∞ | 1 | 1 | "
                     f"{f(uncompressed['miou_dataset'], 2)} | {f(uncompressed['miou'], 2)} |")
    for _, r in table.iterrows():
        lines.append(f"| {r['codec']} | {r['frames']} | {r['at_target']} | {f(r['bpp'], 4)} | {f(r['psnr'], 2)} | "
                     f"{f(r['ssim'], 4)} | {f(r['ms_ssim'], 4)} | {f(r['miou_dataset'], 2)} | {f(r['miou'], 2)} |")
    lines += ["", "Rows whose `≤ target` is below `frames` include frames at the codec's lowest rate, above the "
              "target (their bpp is the real mean). GAN rows: fixed-rate checkpoints with nominal rate within "
              f"±{100 * TABLE_TOLERANCE:.0f} % of the target.", "",
              "Paper (Agustsson et al. 2019, Table II, Cityscapes, ~0.0625 bpp), for comparison: "
              + "; ".join(f"{n} {p:.2f} dB / {m:.1f} % mIoU" for n, p, m in PAPER_CITYSCAPES) + "."]
    failed = int(table["failed"].sum()) if len(table) else 0
    if failed:
        lines.append(f"\n⚠ {failed} failed point(s) left out (see the store's error field).")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# The GAN operating points as one curve


def gan_curve_groups(labels: Iterable[str]) -> dict[str, str]:
    """label -> curve name for the quantized GAN checkpoints (``GAN F<F> L<L>``); others are left alone.

    Where an F/L pair also has an ``GAN F<F> L<L> (equal budget)`` entry (the sweep's twin of a checkpoint trained
    longer, bench/gan_sweep.py), the twin joins the curve and the longer-trained one stays its own point, so the
    curve compares checkpoints trained on equal terms."""
    labels = list(labels)
    twins = {lab[: -len(EQUAL_BUDGET)] for lab in labels if GAN_LABEL.match(lab) and lab.endswith(EQUAL_BUDGET)}
    return {lab: GAN_CURVE for lab in labels if GAN_LABEL.match(lab) and lab not in twins}


def merge_curves(agg: pd.DataFrame, groups: dict[str, str]) -> pd.DataFrame:
    """Relabel aggregate rows so that several fixed-rate codecs form one curve (their label becomes the target)."""
    out = agg.copy()
    mask = out["codec"].isin(list(groups))
    out.loc[mask, "target"] = out.loc[mask, "codec"]
    out.loc[mask, "codec"] = out.loc[mask, "codec"].map(groups)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Timing


STAGES = (("rate_s", "rate control + encode"), ("decode_s", "decode"), ("fidelity_s", "fidelity metrics"),
          ("segment_s", "segmentation (ESPNet)"))


def stage_times(points: pd.DataFrame) -> pd.DataFrame:
    """Seconds per stage summed over the stored points, per codec and in total (row ``all``)."""
    df = points.copy()
    for col, _ in STAGES:
        if col not in df.columns:
            df[col] = math.nan
    if "metric_s" in df.columns:  # points stored before the fidelity/segment split: all of metric_s as fidelity
        lacking = df["fidelity_s"].isna()
        df.loc[lacking, "fidelity_s"] = df.loc[lacking, "metric_s"]
    cols = [c for c, _ in STAGES]
    per = df.groupby("codec", sort=False)[cols].sum(min_count=1)
    per.insert(0, "points", df.groupby("codec", sort=False).size())
    per.loc["all"] = [len(df), *df[cols].sum(min_count=1).tolist()]
    per["total_s"] = per[cols].sum(axis=1)
    return per.reset_index().rename(columns={"index": "codec"})


def read_run_log(folder: str | Path) -> list[dict[str, Any]]:
    path = Path(folder) / "runs.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def timing_markdown(stages: pd.DataFrame, runs: list[dict[str, Any]]) -> str:
    lines = ["Timing of the automotive-camvid suite on this machine", ""]
    if runs:
        lines += ["| run started (UTC) | frames | workers | points computed | wall (s) | Σ stage seconds |",
                  "|---|--:|--:|--:|--:|--:|"]
        for r in runs:
            lines.append(f"| {r.get('started', '?')} | {r.get('frames', '?')} | {r.get('workers', '?')} | "
                         f"{r.get('computed', 0)} | {r.get('wall_s', 0):.0f} | {r.get('work_s', 0):.0f} |")
        lines += ["", f"Total wall time of the runs: {sum(r.get('wall_s', 0) for r in runs):.0f} s "
                      f"for {sum(r.get('computed', 0) for r in runs)} points.", ""]
    head = ["codec", "points"] + [name + " (s)" for _, name in STAGES] + ["total (s)"]
    lines += ["Seconds per stage, summed over the stored points (per-point timers in each record; with 2 workers "
              "the wall time is about half the sum):", "",
              "| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
    for _, r in stages.iterrows():
        cells = [str(r["codec"]), str(int(r["points"]))] + [
            "–" if pd.isna(r[c]) else f"{r[c]:.0f}" for c, _ in STAGES] + [f"{r['total_s']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    tot = stages[stages["codec"] == "all"].iloc[0]
    if tot["total_s"] > 0:
        shares = ", ".join(f"{name} {100 * (0 if pd.isna(tot[c]) else tot[c]) / tot['total_s']:.0f} %"
                           for c, name in STAGES)
        lines += ["", f"Share of the summed stage time: {shares}."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------


def write_study(store: str | Path, *, anchor: str = "JPEG 2000", target: float = 0.0625,
                out_dir: str | Path | None = None, title: str | None = None,
                uncompressed: dict[str, float] | None = None) -> list[Path]:
    """Write the study's own outputs (table at target, GAN-curve figure and BD-rates, timing) beside the store.
    uncompressed: the segmenter's scores on the original frames (see :func:`uncompressed_miou`), a table row."""
    import warnings

    from codecbench.report.outputs import load_for_outputs

    store, out, points = load_for_outputs(store, out_dir)
    if points.empty:
        return []
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        atomic_write_text(out / name, text)
        written.append(out / name)

    table = table_at(points, target, codec_details(store))
    put(f"table_{target:g}.md", table_markdown(table, target, uncompressed))
    put(f"table_{target:g}.csv", table.to_csv(index=False, float_format="%.6g"))

    agg = reports.aggregate(points)
    merged = merge_curves(agg, gan_curve_groups(agg["codec"].unique()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written += plots.plot_curves(merged, out / "rd_gan_curve", title=title)
        written += plots.plot_curves(merged, out / "rd_gan_curve_logx", log_x=True, title=title)
    if anchor in set(merged["codec"]):
        res = bdrate.bd_table(merged, anchor)
        put("bdrate_gan_curve.md", bdrate.bd_markdown(res))
        put("bdrate_gan_curve.csv", bdrate.bd_frame(res).to_csv(index=False, float_format="%.6g"))
    put("timing.md", timing_markdown(stage_times(points), read_run_log(out)))
    return written
