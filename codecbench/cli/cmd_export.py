"""``codecbench export RESULTS``: write each codec's curve as CompressAI-style JSON (bpp, psnr-rgb, ms-ssim-rgb, …)."""

from __future__ import annotations

import argparse


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

    from codecbench.atomicio import atomic_write_text
    from codecbench.cli._results import load_results
    from codecbench.errors import BadInput
    from codecbench.report import reports
    from codecbench.report.compressai import export
    from codecbench.run.store import resolve_store

    points, _ = load_results("export", args.results)
    agg = reports.aggregate(points)
    codecs = args.codec or list(dict.fromkeys(agg["codec"]))
    out = Path(args.output) if args.output else resolve_store(args.results).parent / "compressai"
    single = out.suffix == ".json"
    if single and len(codecs) != 1:
        raise BadInput(f"{out}: a .json output needs exactly one --codec")
    for codec in codecs:
        doc = export(agg, codec)
        path = out if single else out / (re.sub(r"[^A-Za-z0-9._-]+", "_", codec) + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
        print(path)
    return 0
