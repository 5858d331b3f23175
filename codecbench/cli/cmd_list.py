"""`codecbench list`: every registered codec (built-in and plugin) with its version and availability.

Plain output is one block per codec; an unavailable codec says why and how to fix it.
``--json`` prints a JSON list of objects with name, available, version, reason, library,
summary, knob, defaults and requires.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("list", help="list codecs with version and availability")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    p.set_defaults(func=run)


def _knob_text(knob: dict | None) -> str:
    if knob is None:
        return "fixed rate (no knob)"
    kind = "int" if knob["integer"] else "float"
    way = "higher = more bits" if knob["increases_rate"] else "lower = more bits"
    extra = ", target bpp met in one encode" if knob["is_bpp"] else ""
    return f"{knob['name']} {kind} {knob['low']:g}..{knob['high']:g} ({way}{extra})"


def run(args: argparse.Namespace) -> int:
    from codecbench.codecs import registry

    rows = registry.describe_all()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for row in rows:
        state = "available" if row["available"] else "UNAVAILABLE"
        print(f"{row['name']:<10} {state:<11} {row['version']}")
        print(f"{'':<10} {row['summary']}")
        print(f"{'':<10} knob: {_knob_text(row['knob'])}")
        if row["defaults"]:
            settings = ", ".join(f"{k}={v!r}" for k, v in row["defaults"].items())
            print(f"{'':<10} settings: {settings}")
        if row["requires"]:
            print(f"{'':<10} requires: {', '.join(row['requires'])}")
        if not row["available"]:
            print(f"{'':<10} why: {row['reason']}")
    return 0
