"""The store's guarded SQLite access and its strict JSON encoding (see :mod:`codecbench.run.store`).

- :func:`store_error` turns an sqlite3/OS error on a store into the StoreError subclass for its kind (corrupt,
  full disk, read-only, locked), with one line naming the store and what to do.
- ``_Connection``/``_Cursor`` wrap sqlite3 so every error, also while iterating a result, becomes such a StoreError.
- :func:`finite_json` / :func:`revive`: non-finite floats as the strings "NaN", "Infinity", "-Infinity" in the
  stored JSON (valid for SQLite's json functions) and back.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np


def store_error(path: Path, exc: BaseException):
    """The StoreError subclass for an sqlite3/OS error on the store at path, with one line saying what to do."""
    import errno

    from codecbench.run.store import STORE_TIMEOUT_ENV
    from codecbench.run.store_errors import StoreCorrupt, StoreError, StoreFull, StoreLocked, StoreReadOnly

    text = str(exc)
    low = text.lower()
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in low:
        return StoreFull(f"{path}: no space left on the disk holding the store ({text}); free some space and "
                         f"rerun the same command (stored points are kept, the run resumes)")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) \
            or "readonly" in low or "read-only" in low or "unable to open" in low:
        return StoreReadOnly(f"{path}: the store cannot be opened for writing ({text}); check the permissions of "
                             f"the file and its folder, or give another output folder (--out)")
    if "locked" in low or "busy" in low:
        return StoreLocked(f"{path}: the store is locked by another process ({text}); wait for it to finish, "
                           f"or raise ${STORE_TIMEOUT_ENV} (seconds)")
    if isinstance(exc, (sqlite3.DatabaseError, ValueError)) and not isinstance(exc, sqlite3.OperationalError) \
            or "malformed" in low or "not a database" in low or "disk i/o" in low:
        return StoreCorrupt(f"{path}: the store is corrupt ({text}); move it aside and rerun to recompute its "
                            f"points, or restore it from a backup")
    return StoreError(f"{path}: not a codecbench result store ({text})")


class _Cursor:
    """A cursor whose errors (also while iterating) become StoreErrors naming the store."""

    def __init__(self, cur: sqlite3.Cursor, path: Path):
        self._cur, self._path = cur, path

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def description(self):
        return self._cur.description

    def fetchone(self):
        try:
            return self._cur.fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise store_error(self._path, exc) from None

    def fetchall(self) -> list:
        try:
            return self._cur.fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise store_error(self._path, exc) from None

    def __iter__(self):
        while True:
            try:
                row = self._cur.fetchone()
            except (sqlite3.Error, OSError) as exc:
                raise store_error(self._path, exc) from None
            if row is None:
                return
            yield row


class _Connection:
    """sqlite3.Connection with errors turned into StoreErrors (the store's only way to SQLite)."""

    def __init__(self, con: sqlite3.Connection, path: Path):
        self._con, self._path = con, path

    def execute(self, sql: str, args: tuple = ()) -> _Cursor:
        try:
            return _Cursor(self._con.execute(sql, args), self._path)
        except (sqlite3.Error, OSError) as exc:
            raise store_error(self._path, exc) from None

    def executescript(self, sql: str) -> None:
        try:
            self._con.executescript(sql)
        except (sqlite3.Error, OSError) as exc:
            raise store_error(self._path, exc) from None

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (for a migration or a backup, which handle their errors)."""
        return self._con

    def close(self) -> None:
        self._con.close()


_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def finite_json(obj: Any) -> Any:
    """obj with non-finite floats replaced by their JSON-safe strings (and numpy values made plain)."""
    if isinstance(obj, float) or isinstance(obj, np.floating):
        x = float(obj)
        if math.isfinite(x):
            return x
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite_json(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def revive(obj: Any) -> Any:
    """The inverse of the store's encoding: "NaN"/"Infinity"/"-Infinity" strings back to floats."""
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {k: revive(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [revive(v) for v in obj]
    return obj
