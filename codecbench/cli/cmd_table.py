"""``codecbench table RESULTS``: per codec and target, mean bpp and metrics (± std, n), plus BD-rates vs an anchor.

RESULTS is a store file or a folder holding store.sqlite. Points are aggregated as the mean of per-image values
at matched targets (x = mean achieved bpp); unreachable and failed points are counted, not averaged.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("table", help="tables and BD-rates from a result store", description=__doc__)
    p.add_argument("results", help="store file or folder holding store.sqlite")
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md", help="table format (default md)")
    p.add_argument("--anchor", help="anchor codec for BD-rate/BD-metric (default: JPEG if present, else first)")
    p.add_argument("--metric", action="append", dest="metrics",
                   help="metric for BD (repeatable; default psnr, psnr_y, ssim, ms_ssim, miou_dataset present)")
    p.add_argument("--reference", action="append", default=[], metavar="FILE",
                   help="CompressAI-style JSON curve to include (repeatable)")
    p.add_argument("--min-overlap", type=float, default=None,
                   help="warn when log-rate ranges overlap less than this fraction (default 0.5)")
    p.add_argument("--partial", action="store_true",
                   help="BD over every target with an ok point (default: only targets every image reached). Each "
                        "target then averages a different subset of images: prefer --ci, whose per-image BD "
                        "uses each image's own curve")
    p.add_argument("--no-bd", action="store_true", help="print only the table")
    p.add_argument("--ci", action="store_true",
                   help="also print BD with 95 %% bootstrap intervals, per-image BD (mean, median, n) and paired "
                        "differences against the anchor at its lowest target (Markdown)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for --ci (default 1000)")
    p.add_argument("-o", "--output", help="write the table here instead of stdout (BD table goes to stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    from codecbench.atomicio import atomic_write_text
    from codecbench.cli._results import load_results
    from codecbench.errors import BadInput
    from codecbench.report import bdrate, reports
    from codecbench.report.outputs import default_anchor

    points, refs = load_results("table", args.results, args.reference)
    agg = reports.aggregate(points)
    full = reports.with_references(agg, refs)
    text = {"md": reports.to_markdown, "csv": reports.to_csv, "latex": reports.to_latex}[args.format](full)
    if args.output:
        atomic_write_text(args.output, text)
        print(f"table written to {args.output}")
    else:
        print(text)
    if not args.no_bd:
        anchor = args.anchor or default_anchor(list(dict.fromkeys(agg["codec"])))
        if anchor is None:
            raise BadInput(f"{args.results}: no codec to anchor the BD table on")
        kw = {} if args.min_overlap is None else {"min_overlap": args.min_overlap}
        res = bdrate.bd_table(full, anchor, args.metrics, complete=not args.partial, **kw)
        if args.format == "csv":
            print(bdrate.bd_frame(res).to_csv(index=False, float_format="%.6g"))
        elif args.format == "latex":
            print(bdrate.bd_latex(res))
        else:
            print(bdrate.bd_markdown(res))
    if args.ci:
        from codecbench.report.outputs import interval_tables

        anchor = args.anchor or default_anchor(list(dict.fromkeys(agg["codec"])))
        for text in interval_tables(points, anchor, resamples=args.resamples).values():
            print(text)
    return 0
