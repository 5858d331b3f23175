"""``codecbench check RESULTS --baseline FILE``: CI regression gate against a committed baseline.

Exits 1 when a point regressed (quality lower, or bpp higher, beyond tolerance) or is missing; 0 otherwise.
``--write`` (re)creates the baseline from RESULTS instead of checking.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from codecbench.report.tolerances import DEFAULT_TOLERANCES

    defaults = ", ".join(f"{k}={v:g}" for k, v in DEFAULT_TOLERANCES.items())
    p = sub.add_parser("check", help="compare results with a committed baseline (CI gate)", description=__doc__)
    p.add_argument("results", help="store file or folder holding store.sqlite")
    p.add_argument("--baseline", required=True, help="baseline JSON (e.g. results/baselines/quick.json)")
    p.add_argument("--tol", action="append", metavar="METRIC=VALUE",
                   help=f"override a tolerance (repeatable); defaults: {defaults} (bpp relative)")
    p.add_argument("--all", action="store_true", help="list every compared value, not only what moved")
    p.add_argument("--write", action="store_true", help="write the baseline from RESULTS instead of checking")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codecbench.cli._results import load_results
    from codecbench.report import check, reports

    tol = check.parse_tolerances(args.tol)
    points, _ = load_results("check", args.results)
    agg = reports.aggregate(points)
    suite = str(points["suite"].iloc[0]) if "suite" in points.columns else ""
    if args.write:
        check.write_baseline(check.baseline_from(agg, suite), args.baseline)
        print(f"baseline written to {args.baseline}")
        return 0
    baseline = check.read_baseline(args.baseline)
    deltas = check.compare(agg, baseline, tol)
    print(check.report(deltas, all_rows=args.all), end="")
    return 1 if check.failed(deltas) else 0
