"""Entry point of the ``codecbench`` command.

Each subcommand lives in its own module ``codecbench/cli/cmd_<name>.py`` exposing
``register(subparsers)``, which adds a parser whose ``func(args) -> int`` returns the exit code.
Library code never calls sys.exit; only :func:`main` turns the returned code into the exit status.
Every deliberate error is a :class:`~codecbench.errors.CodecbenchError`: :func:`main` catches it here, once, and
prints one line ``codecbench COMMAND: MESSAGE`` (the message names the file, key or codec) with exit status 2
(or the error's own ``exit_code``). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import codecbench
from codecbench.errors import CodecbenchError


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
    except CodecbenchError as exc:
        print(f"codecbench {args.command}: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `codecbench table ... | head`: the reader left; no traceback
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush does not fail again
        except OSError:
            pass
        return 141
    except Exception as exc:  # store and file-system trouble: one line and a distinct exit code, no traceback
        code = environment_error(args.command, exc)
        if code is None:
            raise
        return code


EXIT_CODES = {"store unreadable": 2, "store corrupt": 3, "disk full": 4, "read-only / no permission": 5,
              "store locked": 6, "other file-system error": 7}


def environment_error(command: str, exc: BaseException) -> int | None:
    """Print one line for a store error or an OSError and return its exit code (see EXIT_CODES); None for
    anything else (a bug, which keeps its traceback)."""
    import errno

    from codecbench.run.store import StoreError

    if isinstance(exc, StoreError):
        print(f"codecbench {command}: {exc}", file=sys.stderr)
        return exc.exit_code
    if not isinstance(exc, OSError):
        return None
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        print(f"codecbench {command}: {where}no space left on the disk ({reason}); free some space and rerun "
              f"(stored points are kept, reports are rewritten whole)", file=sys.stderr)
        return 4
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        print(f"codecbench {command}: {where}cannot write ({reason}); check the permissions or choose another "
              f"output folder", file=sys.stderr)
        return 5
    print(f"codecbench {command}: {where}{reason}", file=sys.stderr)
    return 7


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
