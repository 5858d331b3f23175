"""Where codecbench finds the shared data (Kodak, CamVid, ESPNet weights).

The folder is ``$CODECBENCH_SHARED`` when set, else ``../shared`` beside the source checkout
(the folder holding ``pyproject.toml``), else ``../shared`` relative to the working directory.
Nothing from it is ever copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "CODECBENCH_SHARED"


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
        raise FileNotFoundError(
            f"{path} not found: set {ENV_VAR} to the folder holding data/ and weights/ "
            f"(default: ../shared beside the checkout)"
        )
    return path
