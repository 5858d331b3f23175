"""The environment a run measures in, for the store's ``runs`` table (provenance, never part of a point key).

:func:`git_describe` is ``git describe --always --dirty`` of the checkout the package runs from (None when it
is installed from a wheel); :func:`versions` gives Python, torch, numpy and Pillow (from the installed
distributions' metadata: nothing heavy is imported) and each codec of the run with its library, version and
provenance (binary path, shared-library file, torch build).
"""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import codecbench

PACKAGES = ("torch", "numpy", "pillow")


def git_describe() -> str | None:
    """``git describe --always --dirty`` of the source checkout holding this package, else None."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        return None  # an installed wheel: no checkout to describe
    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions(codecs: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Versions of Python, codecbench, torch, numpy, Pillow, and of each codec (label -> description)."""
    out: dict[str, Any] = {"python": platform.python_version(), "codecbench": codecbench.__version__}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    out["codecs"] = {
        label: {"name": d.get("name"), "library": d.get("library"), "version": d.get("version"),
                "provenance": d.get("provenance") or {}}
        for label, d in (codecs or {}).items()
    }
    return out
