"""The files a run leaves beside its store: tables (Markdown, CSV, LaTeX), BD-rates, points CSV, plots and
the HTML report.

    write_outputs("runs/quick")   # reads runs/quick/store.sqlite, writes runs/quick/{table.md, ..., report.html}

Everything is computed from the store (reports never re-run a measurement); only the report's image browser
re-encodes a few points from the dataset when the run kept no artifacts (see :mod:`codecbench.report.browser`).
Returns exactly the files written, so callers never name a file that is not there.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable

from codecbench.atomicio import atomic_write_text
from codecbench.report import bdrate, plots, reports
from codecbench.run.store import resolve_store


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


def interval_tables(points, anchor: str | None, *, resamples: int = 1000,
                    paired_target: str | None = None) -> dict[str, str]:
    """{key: Markdown} of the bootstrap tables: means with intervals (means_ci), BD with intervals and per-image
    BD (bd_ci), and the paired comparison against the anchor at paired_target (a target key such as "0.0625";
    default: the anchor's lowest target with an ok point), every metric (paired)."""
    from codecbench.report import uncertainty

    out: dict[str, str] = {"means_ci": uncertainty.mean_intervals_markdown(
        uncertainty.mean_intervals(points, resamples=resamples))}
    if not anchor or points["codec"].nunique() < 2:
        return out
    out["bd_ci"] = uncertainty.bd_intervals_markdown(uncertainty.bd_intervals(points, anchor, resamples=resamples))
    ok = points[(points["codec"] == anchor) & (points["status"] == "ok") & (points["target"] != "fixed")]
    if not ok.empty:
        target = paired_target or ok.sort_values("target_bpp")["target"].iloc[0]
        parts = []
        for m in uncertainty.CI_METRICS:
            if (m in points.columns and points[m].notna().any()) or (m == "miou_dataset" and "confusion" in points):
                parts.append(uncertainty.paired_markdown(
                    uncertainty.paired_at_target(points, anchor, target, m, resamples=resamples)))
        out["paired"] = "\n".join(parts)
    return out


def write_outputs(results: str | Path, *, out_dir: str | Path | None = None, anchor: str | None = None,
                  references: Iterable = (), title: str | None = None, html: bool = True,
                  images: int = 2, intervals: bool = True, resamples: int = 1000,
                  paired_target: str | None = None, log=None) -> list[Path]:
    """Write table.{md,csv,tex}, table_ci.md, bdrate.{md,csv}, bdrate_ci.md, paired.md, points.csv, rd.{png,svg},
    rd_logx.{png,svg} and report.html (what applies); returns the paths written. log(str) receives notes
    (why the page has no image browser); default: warnings. paired_target: the target key of paired.md (default:
    the anchor's lowest target)."""
    log = log or (lambda s: warnings.warn(s, stacklevel=2))
    store, out, points = load_for_outputs(results, out_dir)
    if points.empty:
        return []
    agg = reports.aggregate(points)
    refs = list(references)
    full = reports.with_references(agg, refs)
    written = []

    def put(name: str, text: str) -> None:
        atomic_write_text(out / name, text)
        written.append(out / name)

    put("table.md", reports.to_markdown(agg))
    put("table.csv", reports.to_csv(agg))
    put("table.tex", reports.to_latex(agg, caption=title))
    put("points.csv", reports.points_csv(points))
    codecs = list(dict.fromkeys(agg["codec"]))
    anchor = anchor or default_anchor(codecs)
    tables = {"Means per codec and target (± sample std over images)": reports.to_markdown(agg)}
    if anchor and len(codecs) + len(refs) > 1:
        results_bd = bdrate.bd_table(full, anchor)
        if results_bd:
            put("bdrate.md", bdrate.bd_markdown(results_bd))
            put("bdrate.csv", bdrate.bd_frame(results_bd).to_csv(index=False, float_format="%.6g"))
            tables["BD-rates (common subset)"] = bdrate.bd_markdown(results_bd)
    if intervals:
        extra = interval_tables(points, anchor, resamples=resamples, paired_target=paired_target)
        put("table_ci.md", extra["means_ci"])
        tables["Means with 95 % intervals"] = extra["means_ci"]
        if "bd_ci" in extra:
            put("bdrate_ci.md", extra["bd_ci"])
            tables["BD with 95 % intervals; per-image BD"] = extra["bd_ci"]
        if "paired" in extra:
            put("paired.md", extra["paired"])
            tables["Paired differences against the anchor"] = extra["paired"]
    ref_names = [r.name for r in refs]
    if any(m in full.columns and full[m].notna().any() for m in plots.PANEL_METRICS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            written += plots.plot_curves(full, out / "rd", title=title, references=ref_names)
            written += plots.plot_curves(full, out / "rd_logx", log_x=True, title=title, references=ref_names)
    from codecbench.report.segmenters import plot_segmenters  # [[segmenters]] suites: mIoU per segmenter

    written += plot_segmenters(agg, out / "rd_segmenters", title=title)
    if html:
        from codecbench.report import browser as br
        from codecbench.report.html import write_html

        try:
            shown = br.browser_images(store, images=images, log=log) if images else None
        except Exception as exc:  # the dataset moved, a codec is missing here: the page is still useful
            log(f"report.html: no image browser ({type(exc).__name__}: {exc})")
            shown = None
        written.append(write_html(store, out / "report.html", title=title or store.parent.name, browser=shown,
                                  tables=tables, points=points))
    return written
