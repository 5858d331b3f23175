"""Rate–quality plots: one panel per metric (PSNR, SSIM, MS-SSIM, mIoU against bpp), PNG plus SVG/PDF.

x = mean achieved bpp per target, y = mean metric (see :mod:`codecbench.report.reports`); reference curves
(CompressAI JSON) are drawn dashed. Lines and filled markers: the common subset (targets every image reached,
the default for curves and BD); hollow markers: targets only some images reached (mean over those, not on the
line); the note under the figure names them with n/N. Colours are fixed per codec
(:mod:`codecbench.report.colours`). Uses matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from codecbench.atomicio import atomic_savefig
from codecbench.errors import BadInput
from codecbench.report.colours import colour
from codecbench.report.reports import METRIC_TITLES, curves

PANEL_METRICS = ("psnr", "ssim", "ms_ssim", "ssimulacra2", "miou_dataset")


def _col(agg: pd.DataFrame, name: str) -> pd.Series:
    return agg[name].fillna(0) if name in agg.columns else pd.Series(0, index=agg.index)


def _partial_rows(agg: pd.DataFrame) -> pd.DataFrame:
    """Rows of targets reached by some but not all images (references excluded)."""
    bad = _col(agg, "unreachable") + _col(agg, "failed")
    return agg[agg["n"].notna() & (bad > 0)]


def coverage_note(agg: pd.DataFrame) -> str:
    """What the lines cover: the images per codec, and the targets outside the common subset with n/N,
    e.g. 'lines: targets all 24 images reached (common subset); not on the lines: webp 0.0625 18/24'."""
    measured = agg[agg["n"].notna()]
    total = (measured["n"] + _col(measured, "unreachable") + _col(measured, "failed")).astype(int)
    sizes = sorted(set(total))
    who = f"all {sizes[0]} images" if len(sizes) == 1 else "every image of the codec"
    if not sizes:
        return "reference curves only"
    parts = []
    for codec, g in _partial_rows(agg).groupby("codec", sort=False):
        tot = (g["n"] + _col(g, "unreachable") + _col(g, "failed")).astype(int)
        cells = [f"{t} {int(n)}/{int(k)}" for t, n, k in zip(g["target"], g["n"], tot)]
        parts.append(f"{codec} {', '.join(cells)}")
    head = f"lines: targets {who} reached (common subset, used for BD)"
    if not parts:
        return head + "; every target shown was reached by every image"
    return head + "; hollow or absent, reached by n/N images: " + "; ".join(parts)


def plot_curves(agg: pd.DataFrame, out_stem: str | Path, *, metrics: Iterable[str] | None = None,
                log_x: bool = False, formats: Iterable[str] = ("png", "svg"), title: str | None = None,
                references: Iterable[str] = (), complete: bool = True) -> list[Path]:
    """Write the figure to out_stem.<fmt> for each format; returns the files written.

    references: codec names in agg drawn as reference curves (dashed, no markers).
    complete: lines over targets every image reached, other targets as hollow markers (see
    :func:`codecbench.report.reports.curves`); False: lines through every target with an ok point."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    metrics = [m for m in (metrics or PANEL_METRICS) if m in agg.columns and agg[m].notna().any()]
    if not metrics:
        raise BadInput("no metric to plot in these results")
    refs = set(references)
    codecs = sorted(dict.fromkeys(agg["codec"]), key=str.lower)
    partial = _partial_rows(agg) if complete else agg.iloc[0:0]
    shown = [c for c in codecs if any(c in curves(agg, m, complete=complete) for m in metrics)
             or c in set(partial["codec"])]
    # the legend (rows of up to 8 entries) and the coverage note get their own strip under the panels
    width = 4.2 * len(metrics)
    col_in = 0.6 + 0.068 * max((len(c) for c in shown), default=0)  # a legend column at 8.5 pt, roughly
    ncol = max(1, min(len(shown), 8, int(width // col_in)))
    legend_in = 0.24 * -(-len(shown) // ncol) + 0.1 if shown else 0.0
    note_in = 0.38 if complete else 0.0
    height = 3.4 + legend_in + note_in
    fig, axes = plt.subplots(1, len(metrics), figsize=(width, height), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        cs = curves(agg, m, complete=complete)
        for codec in codecs:
            col = colour(codec)
            if codec in cs:
                x, y = cs[codec]
                if codec in refs:
                    ax.plot(x, y, "--", color=col, linewidth=1.3)
                else:
                    ax.plot(x, y, "-o", color=col, markersize=3.5, linewidth=1.3)
            p = partial[(partial["codec"] == codec) & (partial["n"] > 0) & partial[m].notna()]
            if len(p):
                ax.plot(p["bpp"], p[m], "o", mfc="white", mec=col, markersize=5, linestyle="none")
        ax.set_xlabel("bpp (mean achieved)")
        ax.set_ylabel(METRIC_TITLES.get(m, m))
        if log_x:
            ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
    handles = [Line2D([], [], color=colour(c), linestyle="--" if c in refs else "-",
                      marker="" if c in refs else "o", markersize=3.5) for c in shown]
    if handles:
        fig.legend(handles, shown, loc="lower center", bbox_to_anchor=(0.5, note_in / height), ncol=ncol,
                   frameon=False, fontsize=8.5)
    if complete:
        fig.text(0.01, 0.005, coverage_note(agg), fontsize=6.5, color="#444", wrap=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, (legend_in + note_in) / height, 1, 1))
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_stem.with_suffix(f".{fmt}")
        atomic_savefig(fig, path, dpi=150, **({"metadata": {"Date": None}} if fmt == "svg" else {}))
        written.append(path)
    plt.close(fig)
    return written
