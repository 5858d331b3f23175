"""``codecbench export RESULTS``: write each codec's curve as CompressAI-style JSON (bpp, psnr-rgb, ms-ssim-rgb, ...)."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export curves as CompressAI-style JSON", description=__doc__)
    p.add_argument("results", help="store file or folder holding store.sqlite")
    p.add_argument("--codec", action="append", help="codec label to export (repeatable; default all)")
    p.add_argument("-o", "--output", default=None,
                   help="folder for one <codec>.json per codec (default RESULTS_FOLDER/compressai); "
                        "a .json path when exporting a single codec")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import re
    from pathlib import Path

    from codecbench.bench import reports
    from codecbench.bench.compressai import export
    from codecbench.bench.store import resolve_store
    from codecbench.cli._results import ResultsUnavailable, load_results

    try:
        points, _ = load_results("export", args.results)
    except ResultsUnavailable as exc:
        return exc.code
    agg = reports.aggregate(points)
    codecs = args.codec or list(dict.fromkeys(agg["codec"]))
    out = Path(args.output) if args.output else resolve_store(args.results).parent / "compressai"
    single = out.suffix == ".json"
    if single and len(codecs) != 1:
        print("codecbench export: a .json output needs exactly one --codec", file=sys.stderr)
        return 2
    for codec in codecs:
        try:
            doc = export(agg, codec)
        except ValueError as exc:
            print(f"codecbench export: {exc}", file=sys.stderr)
            return 2
        path = out if single else out / (re.sub(r"[^A-Za-z0-9._-]+", "_", codec) + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(path)
    return 0
