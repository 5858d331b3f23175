"""The files a run leaves beside its store: tables (Markdown, CSV, LaTeX), BD-rates, points CSV and plots.

    write_outputs("runs/quick")   # reads runs/quick/store.sqlite, writes runs/quick/{table.md, ..., rd.png}

Everything is computed from the store alone (reports never re-run codecs).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable

from codecbench.bench import bdrate, plots, reports
from codecbench.bench.store import resolve_store


def load_for_outputs(results: str | Path, out_dir: str | Path | None = None):
    """(store path, output folder (created; default beside the store), points DataFrame) for writing reports."""
    store = resolve_store(results)
    out = Path(out_dir) if out_dir else store.parent
    out.mkdir(parents=True, exist_ok=True)
    return store, out, reports.load_points(store)


def default_anchor(codecs: list[str]) -> str | None:
    """The anchor for BD tables: a codec labelled JPEG/jpeg if present, else the first codec."""
    for c in codecs:
        if c.lower() == "jpeg":
            return c
    return codecs[0] if codecs else None


def write_outputs(results: str | Path, *, out_dir: str | Path | None = None, anchor: str | None = None,
                  references: Iterable = (), title: str | None = None) -> list[Path]:
    """Write table.{md,csv,tex}, bdrate.{md,csv}, points.csv, rd.{png,svg} and rd_logx.{png,svg}; returns paths."""
    store, out, points = load_for_outputs(results, out_dir)
    if points.empty:
        return []
    agg = reports.aggregate(points)
    refs = list(references)
    full = reports.with_references(agg, refs)
    written = []

    def put(name: str, text: str) -> None:
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)

    put("table.md", reports.to_markdown(agg))
    put("table.csv", reports.to_csv(agg))
    put("table.tex", reports.to_latex(agg, caption=title))
    put("points.csv", reports.points_csv(points))
    codecs = list(dict.fromkeys(agg["codec"]))
    anchor = anchor or default_anchor(codecs)
    if anchor and len(codecs) + len(refs) > 1:
        results_bd = bdrate.bd_table(full, anchor)
        put("bdrate.md", bdrate.bd_markdown(results_bd))
        put("bdrate.csv", bdrate.bd_frame(results_bd).to_csv(index=False, float_format="%.6g"))
    ref_names = [r.name for r in refs]
    if any(m in full.columns and full[m].notna().any() for m in plots.PANEL_METRICS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            written += plots.plot_curves(full, out / "rd", title=title, references=ref_names)
            written += plots.plot_curves(full, out / "rd_logx", log_x=True, title=title, references=ref_names)
    return written
