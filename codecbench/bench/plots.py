"""Rate–quality plots: one panel per metric (PSNR, SSIM, MS-SSIM, mIoU against bpp), PNG plus SVG/PDF.

x = mean achieved bpp per target, y = mean metric (see :mod:`codecbench.bench.reports`); reference curves
(CompressAI JSON) are drawn dashed. Uses matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from codecbench.bench.reports import METRIC_TITLES, curves

PANEL_METRICS = ("psnr", "ssim", "ms_ssim", "miou_dataset")


def plot_curves(agg: pd.DataFrame, out_stem: str | Path, *, metrics: Iterable[str] | None = None,
                log_x: bool = False, formats: Iterable[str] = ("png", "svg"), title: str | None = None,
                references: Iterable[str] = (), complete: bool = True) -> list[Path]:
    """Write the figure to out_stem.<fmt> for each format; returns the files written.

    references: codec names in agg drawn as reference curves (dashed, no markers).
    complete: only targets every image reached (see :func:`codecbench.bench.reports.curves`)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    metrics = [m for m in (metrics or PANEL_METRICS) if m in agg.columns and agg[m].notna().any()]
    if not metrics:
        raise ValueError("no metric to plot in these results")
    refs = set(references)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    codecs = list(dict.fromkeys(agg["codec"]))
    colours = {c: f"C{i % 10}" for i, c in enumerate(codecs)}
    for ax, m in zip(axes[0], metrics):
        for codec, (x, y) in curves(agg, m, complete=complete).items():
            if codec in refs:
                ax.plot(x, y, "--", color=colours[codec], label=codec, linewidth=1.3)
            else:
                ax.plot(x, y, "-o", color=colours[codec], label=codec, markersize=3.5, linewidth=1.3)
        ax.set_xlabel("bpp (mean achieved)")
        ax.set_ylabel(METRIC_TITLES.get(m, m))
        if log_x:
            ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 8), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_stem.with_suffix(f".{fmt}")
        fig.savefig(path, dpi=150, **({"metadata": {"Date": None}} if fmt == "svg" else {}))
        written.append(path)
    plt.close(fig)
    return written
