"""`codecbench tools build-bpg`: build libbpg's bpgenc/bpgdec from a source tarball or folder (nothing is downloaded).

Prints where the binaries are and how to point codecbench at them (the BPG codec also finds the newest build in
the cache by itself). ``--print-env`` prints only ``export`` lines for a shell (``eval "$(...)"``). Needs only the
standard library (CI runs it before installing the project's dependencies). Exit status 1 with the reason (missing
packages, make's last lines) when the build cannot run or fails.
"""

from __future__ import annotations

import argparse
import shlex
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("tools", help="build external programs some codecs need (libbpg)")
    sub = p.add_subparsers(dest="tool", metavar="TOOL")
    b = sub.add_parser("build-bpg", help="build bpgenc/bpgdec from the libbpg source into a cache prefix")
    b.add_argument("--source", help="libbpg tarball or unpacked folder (default: ../shared/vendor/libbpg-0.9.8.tar.gz)")
    b.add_argument("--prefix", help="install folder (gets bin/bpgenc, bin/bpgdec, build.json); "
                                    "default: $CODECBENCH_CACHE/bpg/<source sha256 prefix>")
    b.add_argument("--jobs", "-j", type=int, default=2, help="parallel make jobs (default 2)")
    b.add_argument("--jctvc", action="store_true", help="also build the JCTVC encoder (-e jctvc; slow to build)")
    b.add_argument("--timeout", type=float, default=None, help="make timeout in seconds (default 3600)")
    b.add_argument("--force", action="store_true", help="rebuild even when a cached build matches")
    b.add_argument("--print-env", action="store_true", help="print only export lines for a shell")
    b.set_defaults(func=run_build_bpg)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build_bpg(args: argparse.Namespace) -> int:
    from codecbench.paths import shared_path
    from codecbench.tools.bpgbuild import BUILD_TIMEOUT_S, DEC_ENV, ENC_ENV, BuildError, build_bpg

    source = args.source or str(shared_path("vendor", "libbpg-0.9.8.tar.gz"))
    if not args.print_env:
        print(f"building libbpg from {source} (make -j{args.jobs}; cached by source sha256) ...", file=sys.stderr)
    try:
        res = build_bpg(source, args.prefix, jobs=args.jobs, jctvc=args.jctvc, force=args.force,
                        timeout_s=args.timeout or BUILD_TIMEOUT_S)
    except BuildError as exc:
        print(f"codecbench tools build-bpg: {exc}", file=sys.stderr)
        return 1
    exports = [f"export {ENC_ENV}={shlex.quote(str(res.bpgenc))}", f"export {DEC_ENV}={shlex.quote(str(res.bpgdec))}"]
    how = "reused the cached build" if res.cached else f"built in {res.manifest.get('make_s', res.seconds):.0f} s"
    if args.print_env:
        print(f"libbpg: {how} in {res.prefix}", file=sys.stderr)
        print("\n".join(exports))
        return 0
    print(f"{how}: {res.manifest.get('banner') or 'bpgenc'}")
    print(f"  bpgenc: {res.bpgenc}\n  bpgdec: {res.bpgdec}")
    print("codecbench finds the newest build in its cache by itself; to pin this one (or use it elsewhere):")
    print("  " + "\n  ".join(exports))
    print(f"  # or: export PATH={shlex.quote(str(res.bpgenc.parent))}:$PATH")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m codecbench.cli.cmd_tools build-bpg ...`: the same command without the other subcommands'
    dependencies (CI builds libbpg before installing the project)."""
    parser = argparse.ArgumentParser(prog="codecbench")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tools", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
