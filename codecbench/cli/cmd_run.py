"""``codecbench run [SUITE]``: run a benchmark suite (default ``quick``) into its store and write the reports."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a benchmark suite (default: quick) and write tables and plots",
                       description=__doc__)
    p.add_argument("suite", nargs="?", default="quick",
                   help="suite name (codecbench/suites/NAME.toml, or one in $CODECBENCH_SUITES) or .toml path")
    p.add_argument("--out", help="output folder: store.sqlite, tables and plots go there (default: the suite's "
                                 "`output`); always a folder, whatever dots its name has")
    p.add_argument("--store", metavar="FILE", help="the store file itself (reports go beside it); instead of --out")
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

    from codecbench.errors import BadInput
    from codecbench.report.outputs import write_outputs
    from codecbench.run.runner import run_suite
    from codecbench.run.suite import load_suite

    if args.out and args.store:
        raise BadInput("give --out FOLDER or --store FILE, not both")
    store = args.store
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise BadInput(f"--out {out}: is a file; --out is a folder (name a store file with --store FILE)")
        store = out / "store.sqlite"
    suite = load_suite(args.suite)
    executor = args.executor or ("dask" if args.scheduler else None)
    summary = run_suite(suite, store=store, workers=args.workers, executor=executor,
                        executor_options={"scheduler": args.scheduler} if args.scheduler else None,
                        progress=not args.no_progress, keep=args.keep, retry_failed=not args.no_retry,
                        recompute=args.recompute)
    for line in summary.lines():
        print(line)
    print(f"store: {summary.store}")
    if not args.no_reports:
        written = write_outputs(summary.store, anchor=args.anchor or suite.anchor, title=f"{suite.name}",
                                log=lambda s: print(s, file=sys.stderr))
        folder = Path(summary.store).parent
        if written:  # only the files that exist: a one-codec or all-unreachable run writes no BD table or plot
            print(f"outputs in {folder}: " + ", ".join(p.name for p in written if p.is_file()))
            if (folder / "report.html").is_file():
                print(f"report: {folder / 'report.html'}")
    if summary.failed:
        print(f"{summary.failed} point(s) failed; rerun the same command to retry them", file=sys.stderr)
    return summary.exit_code
