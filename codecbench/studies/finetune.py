"""The study's Tables I and II on CamVid (issue 15): ESPNet fine-tuned on decoded frames, from a result store.

Inputs: a store written by a suite with ``[[segmenters]]`` (one confusion matrix per segmenter per point, see
:mod:`codecbench.run.multiseg`), the segmenters' mIoU on the original test frames (:func:`originals_miou`) and
the fine-tunes' provenance JSON. All mIoU are dataset figures in percent (IoU of the summed confusion matrices,
void answers counted as misses); bpp, PSNR (dB), SSIM and MS-SSIM are means over the frames.
The paper's figures (Agustsson et al. 2019, Cityscapes) are quoted as published, never recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ORIGINAL = "original"
# Quoted from the paper (Cityscapes): Table I, GAN-decoded evaluation; Table II, JPEG 2000 frames.
PAPER = {"table1_gan_uncoded": 48.1, "table1_gan_finetuned": 64.7, "table2_jpeg2000_finetuned": 65.0,
         "gain_gan": 16.6, "gain_jpeg2000": 19.0}


def originals_miou(refs: Iterable[Any], segmenters: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, float]:
    """{label: dataset mIoU (%)} of each segmenter (registry name, options) on the original frames (ImageRefs
    with labels); each frame and label is loaded once and segmented by every segmenter."""
    from codecbench.datasets import load_image, load_label
    from codecbench.metrics.segmenters import registry as segreg

    segs = {label: segreg.create(name, **options) for label, (name, options) in segmenters.items()}
    totals: dict[str, np.ndarray] = {}
    for ref in refs:
        image, truth = load_image(ref)[None], load_label(ref)
        for label, seg in segs.items():
            cm = segreg.confusion(seg.predict(image)[0], truth, seg.num_classes, seg.ignore_index)
            totals[label] = cm if label not in totals else totals[label] + cm
    return {label: float(segreg.scores(cm).miou) for label, cm in totals.items()}


def measured(points: pd.DataFrame) -> pd.DataFrame:
    """Points that were measured: ok, and unreachable ones (the frame at the codec's lowest rate, above the
    target; kept as the automotive study's table keeps them, their real bpp enters the mean)."""
    return points[points["status"].isin(["ok", "unreachable"])]


def cross_table(points: pd.DataFrame, originals: dict[str, float], frames: list[str]) -> pd.DataFrame:
    """mIoU (%) with rows = segmenter labels and columns = test frames ("original", then each codec label in
    ``frames``), from the measured points of a single-target store (one group per codec)."""
    from codecbench.report.segmenters import group_mious, labels_of

    ok = measured(points)
    labels = list(originals) or labels_of(ok)
    table = pd.DataFrame(index=labels, columns=[ORIGINAL, *frames], dtype=float)
    for label in labels:
        table.loc[label, ORIGINAL] = originals.get(label, math.nan)
    for codec in frames:
        mious = group_mious(ok[ok["codec"] == codec])
        for label in labels:
            table.loc[label, codec] = mious.get(f"miou_dataset[{label}]", math.nan)
    return table


def frame_table(points: pd.DataFrame, frames: list[str]) -> pd.DataFrame:
    """Per test-frame set: n, bpp, PSNR, SSIM, MS-SSIM (means over ok points); the original row is exact."""
    rows = [{"frames": ORIGINAL, "n": None, "at_target": None, "bpp": 24.0, "psnr": math.inf, "ssim": 1.0,
             "ms_ssim": 1.0}]
    ok = measured(points)
    for codec in frames:
        g = ok[ok["codec"] == codec]
        rows.append({"frames": codec, "n": len(g), "at_target": int((g["status"] == "ok").sum()),
                     **{m: float(g[m].mean()) if m in g and len(g) else math.nan
                        for m in ("bpp", "psnr", "ssim", "ms_ssim")}})
    return pd.DataFrame(rows).set_index("frames")


def _f(x: Any, d: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{d}f}"


def _frames_line(fr: pd.DataFrame, codec: str) -> str:
    r = fr.loc[codec]
    return (f"{codec}: {int(r['n'])} frames, {_f(r['bpp'], 4)} bpp, PSNR {_f(r['psnr'])} dB, SSIM {_f(r['ssim'], 4)}, "
            f"MS-SSIM {_f(r['ms_ssim'], 4)}")


def fidelity_markdown(fr: pd.DataFrame) -> str:
    lines = ["| test frames | n | ≤ target | bpp | PSNR (dB) | SSIM | MS-SSIM |", "|---|--:|--:|--:|--:|--:|--:|"]
    for name, r in fr.iterrows():
        n, at = ("–" if v is None or (isinstance(v, float) and math.isnan(v)) else str(int(v))
                 for v in (r["n"], r["at_target"]))
        lines.append(f"| {name} | {n} | {at} | {_f(r['bpp'], 4)} | {_f(r['psnr'])} | {_f(r['ssim'], 4)} | "
                     f"{_f(r['ms_ssim'], 4)} |")
    return "\n".join(lines) + "\n"


def rows_markdown(table: pd.DataFrame, rows: list[tuple[str, str]], columns: list[str],
                  quoted: dict[str, dict[str, float]] | None = None, quoted_title: str = "") -> str:
    """Markdown of selected rows (label, display name) and columns of a cross table; ``quoted`` adds the
    paper's figure per row label in a last column."""
    head = ["segmenter training", *[f"mIoU % on {c} frames" for c in columns]]
    if quoted is not None:
        head.append(quoted_title)
    lines = ["| " + " | ".join(head) + " |", "|---|" + "--:|" * (len(head) - 1)]
    for label, name in rows:
        cells = [name, *[_f(table.loc[label, c]) if label in table.index else "–" for c in columns]]
        if quoted is not None:
            cells.append(_f(quoted.get(label, {}).get("value"), 1) if label in quoted else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def gains(table: pd.DataFrame, fr: pd.DataFrame, matched: dict[str, str], uncoded: str,
          paper: dict[str, float]) -> pd.DataFrame:
    """Per codec: uncoded and matched (fine-tuned on that codec) mIoU on its frames, gain in points, paper's."""
    rows = []
    for codec, label in matched.items():
        base, tuned = table.loc[uncoded, codec], table.loc[label, codec]
        rows.append({"codec": codec, "bpp": fr.loc[codec, "bpp"], "psnr": fr.loc[codec, "psnr"],
                     "miou_uncoded": base, "miou_matched": tuned, "gain": tuned - base,
                     "paper_gain": paper.get(codec, math.nan)})
    return pd.DataFrame(rows)


def gains_markdown(g: pd.DataFrame) -> str:
    lines = ["| codec (test frames) | bpp | PSNR (dB) | mIoU % uncoded ESPNet | mIoU % fine-tuned on this codec | "
             "gain (points) | paper's gain, Cityscapes (quoted) |", "|---|--:|--:|--:|--:|--:|--:|"]
    for _, r in g.iterrows():
        pg = r["paper_gain"]
        lines.append(f"| {r['codec']} | {_f(r['bpp'], 4)} | {_f(r['psnr'])} | {_f(r['miou_uncoded'])} | "
                     f"{_f(r['miou_matched'])} | {r['gain']:+.2f} | "
                     f"{'–' if math.isnan(pg) else f'{pg:+.1f}'} |")
    return "\n".join(lines) + "\n"


def cost_markdown(provenances: dict[str, dict[str, Any]]) -> str:
    """Cost of each fine-tune: steps, seconds per epoch (training only), validation included in CPU/wall."""
    lines = ["| fine-tune | mode | codec | steps | epochs | s per epoch (train) | CPU time (s) | wall (s) | "
             "val mIoU % before → after | load (1 min) |", "|---|---|---|--:|--:|--:|--:|--:|---|--:|"]
    for name, p in provenances.items():
        curve = p["validation_curve"]
        val = ", ".join(f"{k} {curve[0]['val'][k]['miou']:.1f} → {curve[-1]['val'][k]['miou']:.1f}"
                        for k in curve[-1]["val"])
        codec = (p.get("codec") or {}).get("name", "–")
        lines.append(f"| {name} | {p['mode']} | {codec} | {p['steps']} | {p['epochs']} | {_f(p['s_per_epoch'], 0)} | "
                     f"{_f(p['cpu_s'], 0)} | {_f(p['wall_s'], 0)} | {val} | "
                     f"{_f(p['hardware'].get('loadavg_1min'), 1)} |")
    return "\n".join(lines) + "\n"


def plot_validation(provenances: dict[str, dict[str, Any]], out: str | Path) -> Path:
    """Validation mIoU (%) against step for each fine-tune (one line per validation image kind) beside the
    training loss per step; PNG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (name, p) in enumerate(provenances.items()):
        curve = p["validation_curve"]
        for j, kind in enumerate(curve[-1]["val"]):
            ax.plot([c["step"] for c in curve], [c["val"][kind]["miou"] for c in curve], "-o" if j == 0 else "--s",
                    color=f"C{i}", markersize=3.5, label=f"{name} ({kind})")
        losses = p["train_loss_per_step"]
        k = max(1, len(losses) // 20)
        smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
        bx.plot(np.arange(len(smooth)) + k, smooth, color=f"C{i}", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("validation mIoU (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    bx.set_xlabel("step")
    bx.set_ylabel("training loss (weighted CE, running mean)")
    bx.grid(True, alpha=0.3)
    bx.legend(fontsize=7)
    every = sorted({p["config"]["val_every"] for p in provenances.values()})
    fig.suptitle("ESPNet fine-tuned on CamVid train (held-out frames: every "
                 + "/".join(f"{k}th" for k in every) + ")")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out
