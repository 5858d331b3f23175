"""Executable launchers for the BPG stand-ins (test doubles: JPEG inside, not BPG).

The wrapper under test runs its binaries directly (no shell), so each launcher is a tiny
executable script that starts the stand-in with the current Python interpreter.
"""

from __future__ import annotations

import sys
from pathlib import Path

STANDINS = Path(__file__).resolve().parent


def bpg_standin_launchers(folder: Path) -> tuple[Path, Path]:
    """Write executable `bpgenc` and `bpgdec` launchers into folder; return their paths."""
    paths = []
    for name in ("bpgenc", "bpgdec"):
        launcher = Path(folder) / name
        script = STANDINS / f"{name}_standin.py"
        launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
        launcher.chmod(0o755)
        paths.append(launcher)
    return paths[0], paths[1]
