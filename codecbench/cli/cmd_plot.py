"""``codecbench plot RESULTS``: rate–quality curves, one panel per metric (PSNR, SSIM, MS-SSIM, mIoU vs bpp)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="rate–quality plots from a result store", description=__doc__)
    p.add_argument("results", help="store file or folder holding store.sqlite")
    p.add_argument("-o", "--output", help="output path without extension (default RESULTS_FOLDER/rd)")
    p.add_argument("--format", action="append", dest="formats", choices=("png", "svg", "pdf"),
                   help="file format (repeatable; default png and svg)")
    p.add_argument("--log-x", action="store_true", help="logarithmic bpp axis (base 2)")
    p.add_argument("--metric", action="append", dest="metrics", help="panel metric (repeatable)")
    p.add_argument("--reference", action="append", default=[], metavar="FILE",
                   help="CompressAI-style JSON curve to draw dashed (repeatable)")
    p.add_argument("--title", help="figure title")
    p.add_argument("--partial", action="store_true",
                   help="lines through targets only some images reached too (default: lines over targets every "
                        "image reached, the others as hollow markers)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codecbench.cli._results import load_results
    from codecbench.report import plots, reports
    from codecbench.run.store import resolve_store

    points, refs = load_results("plot", args.results, args.reference)
    full = reports.with_references(reports.aggregate(points), refs)
    stem = args.output or resolve_store(args.results).parent / ("rd_logx" if args.log_x else "rd")
    files = plots.plot_curves(full, stem, metrics=args.metrics, log_x=args.log_x,
                              formats=args.formats or ("png", "svg"), title=args.title,
                              references=[r.name for r in refs], complete=not args.partial)
    for f in files:
        print(f)
    return 0
