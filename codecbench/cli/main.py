"""Entry point of the ``codecbench`` command.

Each subcommand lives in its own module ``codecbench/cli/cmd_<name>.py`` exposing
``register(subparsers)``, which adds a parser whose ``func(args) -> int`` returns the exit code.
Library code never calls sys.exit; only :func:`main` turns the returned code into the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import codecbench


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codecbench", description=codecbench.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"codecbench {codecbench.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module("codecbench.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"codecbench.cli.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
