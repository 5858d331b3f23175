"""Atomic file writes: a reader (or a kill, or a full disk) never sees a truncated file.

    atomic_write_text(out / "table.md", text)
    atomic_write_bytes(out / "rd.png", data)
    atomic_savefig(fig, out / "rd.png", dpi=150)

Each writes to a temporary file in the destination's folder (same file system, so the rename is atomic),
flushes and fsyncs it, renames it over the destination (``os.replace``) and fsyncs the folder. On any error
(ENOSPC, EACCES, a signal raising KeyboardInterrupt, ...) the temporary file is removed and the previous
destination, if any, is left untouched. Temporary names start with ``.`` and end with ``.tmp``; a SIGKILL
between create and rename can leave one behind (never the destination), and :func:`remove_stale_temps`
cleans them up.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

TMP_SUFFIX = ".tmp"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename itself is still atomic
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask alone must set it to read it)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", *, encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces ``path`` atomically.

    mode: "wb" or "w" (text, encoding default utf-8). The final file gets mode 0o644 (less the umask)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', not {mode!r}")
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=folder)
    tmp_path = Path(tmp)
    try:
        os.fchmod(fd, 0o644 & ~_umask())
        fh: IO
        if mode == "w":
            fh = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline="")
        else:
            fh = os.fdopen(fd, "wb")
        fd = -1
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        try:
            tmp_path.unlink()
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc  # name the file (a full disk says none)
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to path through a temporary file in the same folder, fsync and os.replace (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation); returns the path."""
    with atomic_open(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def atomic_savefig(fig, path: str | Path, **kwargs) -> Path:
    """``fig.savefig(path, **kwargs)`` written atomically. The format comes from the suffix of ``path``
    unless ``format=`` is given (the temporary name would otherwise hide it)."""
    path = Path(path)
    kwargs.setdefault("format", path.suffix.lstrip(".").lower() or None)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, **kwargs)
    return path


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Remove temporary files left in ``folder`` by a killed atomic write; returns what was removed."""
    removed = []
    for p in Path(folder).glob(f".*{TMP_SUFFIX}"):
        if p.is_file():
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed
