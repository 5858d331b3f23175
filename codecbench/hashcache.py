"""Content hashes of image files, cached per file (path, size, mtime) in memory and in
``$CODECBENCH_CACHE/hashes.json`` (default ``$XDG_CACHE_HOME/codecbench`` or ``~/.cache/codecbench``), so reloading a
large dataset does not decode every image again (see :mod:`codecbench.datasets`)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from codecbench.atomicio import atomic_write_text
from codecbench.imageio import ImageLoadError, check_size, content_hash, load_rgb
from codecbench.paths import cache_dir


def _cache_file() -> Path:
    return cache_dir() / "hashes.json"


_memory: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def _read_disk_cache(path: Path) -> dict[str, list]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_disk_cache(path: Path, new: dict[str, tuple[int, int, str]]) -> None:
    """Merge new entries into the cache file atomically; an unwritable cache is silently skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read_disk_cache(path)
        data.update({k: list(v) for k, v in new.items()})
        atomic_write_text(path, json.dumps(data))
    except OSError:
        pass


def file_hashes(paths: list[Path], *, errors: dict[int, str] | None = None, max_pixels: int | None = None
                ) -> list[str | None]:
    """Content hashes of image files (decoding only those not cached under their path, size and mtime).

    errors: when given, an image that cannot be loaded gets hash None and errors[index] = the reason, instead
    of raising ImageLoadError. max_pixels: checked from the header of every file (cached or not)."""
    cache_path = _cache_file()
    disk: dict[str, list] | None = None
    out: list[str | None] = []
    new: dict[str, tuple[int, int, str]] = {}
    for p in paths:
        key = str(p)
        try:
            st = p.stat()
        except FileNotFoundError:
            raise ImageLoadError(f"{p}: no such file") from None
        stamp = (st.st_size, st.st_mtime_ns)
        try:
            check_size(p, max_pixels)
            with _lock:
                hit = _memory.get(key)
            if hit is None or hit[:2] != stamp:
                if disk is None:
                    disk = _read_disk_cache(cache_path)
                entry = disk.get(key)
                hit = tuple(entry) if isinstance(entry, list) and len(entry) == 3 else None
                if hit is None or tuple(hit[:2]) != stamp:
                    hit = (*stamp, content_hash(load_rgb(p, max_pixels=max_pixels)))
                    new[key] = hit
                with _lock:
                    _memory[key] = hit
        except ImageLoadError as exc:  # the header or the pixels: a failed image, or the caller's error
            if errors is None:
                raise
            errors[len(out)] = str(exc)
            out.append(None)
            continue
        out.append(hit[2])
    if new:
        _write_disk_cache(cache_path, new)
    return out
