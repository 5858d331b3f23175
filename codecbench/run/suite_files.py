"""Finding suite files by name: ``$CODECBENCH_SUITES``, the checkout's ``bench/suites``, ``./bench/suites``,
then the suites shipped in the package (``codecbench/suites``, present in an installed wheel too).
:mod:`codecbench.run.suite` reads and validates them (and re-exports these names)."""

from __future__ import annotations

import os
from pathlib import Path

from codecbench.errors import CodecbenchError

SUITES_ENV = "CODECBENCH_SUITES"
PACKAGE_SUITES = Path(__file__).resolve().parents[1] / "suites"


class SuiteError(CodecbenchError, ValueError):
    """A suite file is missing or invalid; the message names the file and the key."""


def suite_dirs() -> list[Path]:
    """Folders searched for suites by name, in order."""
    dirs = []
    env = os.environ.get(SUITES_ENV)
    if env:
        dirs.append(Path(env).expanduser())
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        dirs.append(checkout / "bench" / "suites")
    dirs.append(Path.cwd() / "bench" / "suites")
    dirs.append(PACKAGE_SUITES)
    seen, out = set(), []
    for d in dirs:
        r = d.resolve()
        if r not in seen:
            seen.add(r)
            out.append(r)
    return out


def available_suites() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in suite_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.toml")):
                found.setdefault(p.stem, p)
    return found


def find_suite(name_or_path: str | Path) -> Path:
    """The file of a suite given by name ("quick") or path ("my/suite.toml")."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise SuiteError(f"{p}: suite file not found")
        return p.resolve()
    found = available_suites()
    if str(name_or_path) in found:
        return found[str(name_or_path)]
    where = ", ".join(str(d) for d in suite_dirs())
    known = ", ".join(sorted(found)) or "none"
    raise SuiteError(
        f"suite {str(name_or_path)!r} not found in {where} (known: {known}); pass a path to a .toml file "
        f"or set {SUITES_ENV} to a folder of suites"
    )
