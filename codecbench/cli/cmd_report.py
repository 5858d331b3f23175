"""``codecbench report RESULTS``: one self-contained HTML page (curves, tables, BD with intervals, per-image
browser, provenance) written beside the store as report.html. Opens from disk; needs no network."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="self-contained HTML report from a result store", description=__doc__)
    p.add_argument("results", help="store file or folder holding store.sqlite")
    p.add_argument("-o", "--output", help="HTML file to write (default RESULTS_FOLDER/report.html)")
    p.add_argument("--anchor", help="anchor codec for BD (default: JPEG if present, else the first)")
    p.add_argument("--images", type=int, default=2,
                   help="images in the per-image browser (default 2; 0: none). Decoded images come from "
                        "--keep artifacts, else are re-encoded from the dataset with the stored knob")
    p.add_argument("--image", action="append", default=[], metavar="ID", help="image id for the browser (repeatable)")
    p.add_argument("--crop", default="320x240", help="browser crop WxH at 1:1, or 'full' (default 320x240)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--no-intervals", action="store_true", help="leave out the bootstrap tables (faster)")
    p.add_argument("--title", help="page title (default: the folder name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codecbench.cli._results import load_results
    from codecbench.report import bdrate, reports
    from codecbench.report.browser import browser_images
    from codecbench.report.html import write_html
    from codecbench.report.outputs import default_anchor, interval_tables
    from codecbench.run.store import resolve_store

    points, _ = load_results("report", args.results)  # ResultsUnavailable: main() reports it (exit status 1)
    try:
        crop = None if args.crop == "full" else tuple(int(v) for v in args.crop.lower().split("x"))
        if crop is not None and (len(crop) != 2 or min(crop) < 1):
            raise ValueError
    except ValueError:
        print(f"codecbench report: --crop {args.crop!r}: expected WxH (e.g. 320x240) or 'full'", file=sys.stderr)
        return 2
    store = resolve_store(args.results)
    agg = reports.aggregate(points)
    codecs = list(dict.fromkeys(agg["codec"]))
    anchor = args.anchor or default_anchor(codecs)
    if anchor is None or anchor not in codecs:
        print(f"codecbench report: anchor {anchor!r} is not in the results; codecs: {', '.join(codecs)}",
              file=sys.stderr)
        return 2
    tables = {"Means per codec and target (± sample std over images)": reports.to_markdown(agg)}
    extra = {} if args.no_intervals else interval_tables(points, anchor, resamples=args.resamples)
    if "means_ci" in extra:
        tables["Means with 95 % intervals"] = extra["means_ci"]
    if len(codecs) > 1:
        tables["BD-rates (common subset)"] = bdrate.bd_markdown(bdrate.bd_table(agg, anchor))
        if extra:
            if "bd_ci" in extra:
                tables["BD with 95 % intervals; per-image BD"] = extra["bd_ci"]
            if "paired" in extra:
                tables["Paired differences against the anchor"] = extra["paired"]
    chosen = args.image or args.images
    shown = browser_images(store, images=chosen, crop=crop, log=lambda s: print(s, file=sys.stderr)) if chosen else None
    out = Path(args.output) if args.output else store.parent / "report.html"
    write_html(store, out, title=args.title or store.parent.name, browser=shown, tables=tables, points=points)
    print(out)
    return 0
