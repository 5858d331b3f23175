"""Per-segmenter mIoU of suites with ``[[segmenters]]`` (see :mod:`codecbench.run.multiseg`), from the store.

Each point's record holds one confusion matrix per segmenter label; a group's figure for segmenter L is the mIoU
(%) of the summed matrices, in column ``miou_dataset[L]`` of the aggregate (the same convention as
``miou_dataset``). Plots: one panel per segmenter, mIoU against mean achieved bpp, one curve per codec.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

COLUMN = re.compile(r"^miou_dataset\[(.+)\]$")


def column(label: str) -> str:
    return f"miou_dataset[{label}]"


def title(col: str) -> str | None:
    """A table title for a per-segmenter column ("mIoU (%) label"), None for other columns."""
    m = COLUMN.match(col)
    return f"mIoU (%) {m.group(1)}" if m else None


def labels_of(frame: pd.DataFrame) -> list[str]:
    """Segmenter labels of per-segmenter columns in a points or aggregate frame, in first-seen order."""
    if "segmenters" in frame.columns:
        seen: dict[str, None] = {}
        for d in frame["segmenters"]:
            if isinstance(d, dict):
                seen.update(dict.fromkeys(d))
        return list(seen)
    return [m.group(1) for c in frame.columns if (m := COLUMN.match(c))]


def group_mious(ok: pd.DataFrame) -> dict[str, float]:
    """{miou_dataset[label]: mIoU %} over a group's ok points (NaN where no point has that segmenter)."""
    from codecbench.metrics.segmenters.registry import scores

    out: dict[str, float] = {}
    if "segmenters" not in ok.columns:
        return out
    for label in labels_of(ok):
        total = None
        for d in ok["segmenters"]:
            if isinstance(d, dict) and label in d:
                cm = np.asarray(d[label]["confusion"], dtype=np.int64)
                total = cm if total is None else total + cm
        out[column(label)] = float(scores(total).miou) if total is not None else float("nan")
    return out


def plot_segmenters(agg: pd.DataFrame, out_stem: str | Path, *, formats: Iterable[str] = ("png", "svg"),
                    title: str | None = None) -> list[Path]:
    """One panel per segmenter label (mIoU vs bpp, one curve per codec); returns the files written."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from codecbench.report.reports import curves

    labels = labels_of(agg)
    if not labels:
        return []
    fig, axes = plt.subplots(1, len(labels), figsize=(4.0 * len(labels), 3.6), squeeze=False, sharey=True)
    codecs = list(dict.fromkeys(agg["codec"]))
    colours = {c: f"C{i % 10}" for i, c in enumerate(codecs)}
    for ax, label in zip(axes[0], labels):
        for codec, (x, y) in curves(agg, column(label)).items():
            ax.plot(x, y, "-o", color=colours[codec], label=codec, markersize=4, linewidth=1.3)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("bpp (mean achieved)")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("mIoU (%)")
    handles, names = [], []
    for ax in axes[0]:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 8), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    out_stem = Path(out_stem)
    written = []
    for fmt in formats:
        path = out_stem.with_suffix(f".{fmt}")
        kw: dict[str, Any] = {"metadata": {"Date": None}} if fmt == "svg" else {}
        fig.savefig(path, dpi=150, **kw)
        written.append(path)
    plt.close(fig)
    return written


def as_records(agg: pd.DataFrame) -> list[dict[str, Any]]:
    """(codec, target, bpp, {label: mIoU}) rows of an aggregate, for tables that pivot by segmenter."""
    labels = labels_of(agg)
    return [{"codec": r["codec"], "target": r["target"], "bpp": r["bpp"],
             "miou": {lab: r.get(column(lab), float("nan")) for lab in labels}} for _, r in agg.iterrows()]
