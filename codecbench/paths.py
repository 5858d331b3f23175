"""Where codecbench finds the shared data (Kodak, CamVid, ESPNet weights).

The folder is ``$CODECBENCH_SHARED`` when set, else ``../shared`` beside the source checkout
(the folder holding ``pyproject.toml``), else ``../shared`` relative to the working directory.
Nothing from it is ever copied into the project.

The cache folder (content hashes, tools built by ``codecbench tools``) is ``$CODECBENCH_CACHE`` when set,
else ``$XDG_CACHE_HOME/codecbench``, else ``~/.cache/codecbench``.
"""

from __future__ import annotations

import os
from pathlib import Path

from codecbench.errors import SharedDataMissing

ENV_VAR = "CODECBENCH_SHARED"
CACHE_ENV = "CODECBENCH_CACHE"


def shared_dir() -> Path:
    """The shared-data folder (it may not exist; callers check and explain)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists():
        return (checkout.parent / "shared").resolve()
    return (Path.cwd().parent / "shared").resolve()


def shared_path(*parts: str) -> Path:
    """A path inside the shared folder."""
    return shared_dir().joinpath(*parts)


def require_shared(*parts: str) -> Path:
    """A path inside the shared folder, or FileNotFoundError saying how to point codecbench at it."""
    path = shared_path(*parts)
    if not path.exists():
        raise SharedDataMissing(
            f"{path} not found: set {ENV_VAR} to the folder holding data/ and weights/ "
            f"(default: ../shared beside the checkout)"
        )
    return path


def cache_dir() -> Path:
    """codecbench's cache folder (it may not exist yet)."""
    base = os.environ.get(CACHE_ENV)
    if base:
        return Path(base).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "codecbench"
