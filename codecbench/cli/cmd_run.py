"""``codecbench run [SUITE]``: run a benchmark suite (default ``quick``) into its store and write the reports."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a benchmark suite (default: quick) and write tables and plots",
                       description=__doc__)
    p.add_argument("suite", nargs="?", default="quick", help="suite name (bench/suites/NAME.toml) or .toml path")
    p.add_argument("--out", help="output folder holding store.sqlite (default: the suite's `output`)")
    p.add_argument("--workers", type=int, help="parallel jobs (default: the suite's `workers`)")
    p.add_argument("--executor", help="executor name: local or dask (default: the suite's, usually 'local')")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786) or scheduler file; implies --executor dask "
                        "(without it, --executor dask starts a LocalCluster of --workers processes)")
    p.add_argument("--keep", action="store_true", default=None,
                   help="keep bitstreams and decoded images under OUT/artifacts/")
    p.add_argument("--no-retry", action="store_true", help="do not retry points stored as failed")
    p.add_argument("--recompute", action="append", default=[], metavar="LABEL",
                   help="delete the stored points of this codec label first and measure them again (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-reports", action="store_true", help="do not write tables and plots after the run")
    p.add_argument("--anchor", help="anchor codec label for BD-rates (default: suite anchor, else JPEG)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codecbench.bench.outputs import write_outputs
    from codecbench.bench.runner import RunError, run_suite
    from codecbench.bench.suite import SuiteError, load_suite

    try:
        suite = load_suite(args.suite)
        executor = args.executor or ("dask" if args.scheduler else None)
        summary = run_suite(suite, store=args.out, workers=args.workers, executor=executor,
                            executor_options={"scheduler": args.scheduler} if args.scheduler else None,
                            progress=not args.no_progress, keep=args.keep, retry_failed=not args.no_retry,
                            recompute=args.recompute)
    except (SuiteError, RunError, ValueError) as exc:
        print(f"codecbench run: {exc}", file=sys.stderr)
        return 2
    for line in summary.lines():
        print(line)
    print(f"store: {summary.store}")
    if not args.no_reports:
        written = write_outputs(summary.store, anchor=args.anchor or suite.anchor, title=f"{suite.name}")
        folder = Path(summary.store).parent
        if written:
            print(f"tables: {folder / 'table.md'} (also .csv, .tex), BD-rates: {folder / 'bdrate.md'}")
            print(f"plots: {folder / 'rd.png'} (also rd.svg, rd_logx.png/.svg)")
    if summary.failed:
        print(f"{summary.failed} point(s) failed; rerun the same command to retry them", file=sys.stderr)
    return summary.exit_code
