"""Helpers shared by the fault-injection and process tests: a small folder suite of real photo crops, and whether a
process (found by pid or pid file) still runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PIL import Image


def folder_suite(tmp: Path, name: str, crops: list[np.ndarray], *, targets, metrics, codecs, stem: str = "") -> Path:
    """Write the crops (RGB uint8) as PNGs under tmp/photos and a suite tmp/STEM.toml (default NAME) over them."""
    photos = tmp / "photos"
    photos.mkdir()
    for i, crop in enumerate(crops):
        Image.fromarray(np.ascontiguousarray(crop)).save(photos / f"{name[0]}{i}.png")
    entries = "".join(f'\n[[codecs]]\nname = "{c}"\n' for c in codecs)
    suite = tmp / f"{stem or name}.toml"
    suite.write_text(f"""
[suite]
name = "{name}"
targets = {list(targets)}
metrics = {list(metrics)!r}

[[datasets]]
name = "folder"
root = "{photos}"
{entries}""".replace("'", '"'))
    return suite


def alive(pid: int) -> bool:
    """True while pid runs (a zombie, killed but not yet reaped by init, counts as dead)."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def alive_from(pidfile: Path) -> bool:
    """Whether the process whose pid the script wrote is still running (False if it never got that far)."""
    text = pidfile.read_text().strip() if pidfile.exists() else ""
    if not text:
        return False
    for _ in range(300):  # SIGKILL is delivered asynchronously: allow a busy machine up to 30 s to act on it
        if not alive(int(text)):
            return False
        time.sleep(0.1)
    return True
