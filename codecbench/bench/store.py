"""The result store: one SQLite file, one row per measured point, written as each point finishes.

Why SQLite (standard library): every point is committed in its own transaction, so a run killed at any
moment (even ``kill -9``) loses at most the points in flight and never leaves a half-written file; WAL mode
lets readers (reports, a second run) work while a run writes; a busy timeout serialises concurrent writers
from several runs into one store; and the UNIQUE key makes a rerun compute only what is missing. A JSON or
CSV file appended by hand would need its own locking and recovery for the same guarantees.

Key of a point: (image content hash, codec key, target) where the codec key is
``name@version`` plus its fixed settings as canonical JSON, and the target is the target bpp written
with ``repr`` (``"fixed"`` for a fixed-rate codec, ``"knob=<v>"`` for a knob sweep point).

Conflict rule: a stored ``ok``/``unreachable`` point is never overwritten (first writer wins, so two
concurrent runs cannot duplicate a point); a stored ``error`` point is replaced by a later attempt.

Each record is kept whole as JSON (Python's json with ``allow_nan``: +inf PSNR of a lossless point and NaN
round-trip exactly), with the fields that queries need copied into columns.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

STORE_NAME = "store.sqlite"
SCHEMA_VERSION = 1

STATUSES = ("ok", "unreachable", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key        TEXT PRIMARY KEY,
    image_hash TEXT NOT NULL,
    codec_key  TEXT NOT NULL,
    target     TEXT NOT NULL,
    status     TEXT NOT NULL,
    dataset    TEXT,
    image_id   TEXT,
    codec      TEXT,
    label      TEXT,
    target_bpp REAL,
    bpp        REAL,
    created    TEXT,
    record     TEXT NOT NULL,
    UNIQUE (image_hash, codec_key, target)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreError(RuntimeError):
    """The store file is unreadable or not a codecbench store; the message names the file."""


def target_key(target_bpp: float | None, knob: Any = None) -> str:
    """The target part of a point's key: repr of the bpp target, ``knob=<v>`` for a sweep, ``fixed`` otherwise."""
    if target_bpp is not None:
        return repr(float(target_bpp))
    if knob is not None:
        return f"knob={knob!r}"
    return "fixed"


def point_key(image_hash: str, codec_key: str, target: str) -> str:
    return f"{image_hash}|{codec_key}|{target}"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store value of type {type(obj).__name__}")


def dumps(record: dict[str, Any]) -> str:
    """JSON with NaN/±Infinity allowed (Python's json reads them back exactly)."""
    return json.dumps(record, default=_jsonable, allow_nan=True, sort_keys=True)


def resolve_store(path: str | Path) -> Path:
    """A store path: the file itself, or a folder holding ``store.sqlite``."""
    p = Path(path)
    if p.is_dir() or (not p.suffix and not p.exists()):
        return p / STORE_NAME
    return p


class Store:
    """A result store at ``path`` (created on first use). Use as a context manager or call :meth:`close`.

    read_only=True opens an existing store without creating or changing anything.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, timeout: float = 60.0):
        self.path = resolve_store(path)
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise StoreError(f"{self.path}: no result store here")
            uri = f"file:{self.path}?mode=ro"
            self._con = sqlite3.connect(uri, uri=True, timeout=timeout)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        try:
            if not read_only:
                self._con.execute("PRAGMA journal_mode=WAL")
                self._con.execute("PRAGMA synchronous=NORMAL")
                self._con.executescript(_SCHEMA)
                self._con.execute(
                    "INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            self._con.execute("SELECT count(*) FROM points").fetchone()
        except sqlite3.DatabaseError as exc:
            self._con.close()
            raise StoreError(f"{self.path}: not a codecbench result store ({exc})") from None

    # -- writing ---------------------------------------------------------------------------------------------
    def put(self, record: dict[str, Any]) -> bool:
        """Write one point in its own transaction; True when stored, False when an ok point already held the key."""
        status = record.get("status")
        if status not in STATUSES:
            raise ValueError(f"record status must be one of {STATUSES}, got {status!r}")
        for field in ("image_hash", "codec_key", "target"):
            if not record.get(field):
                raise ValueError(f"record lacks {field!r}")
        key = point_key(record["image_hash"], record["codec_key"], record["target"])
        row = (
            key, record["image_hash"], record["codec_key"], record["target"], status,
            record.get("dataset"), record.get("image_id"), record.get("codec"), record.get("label"),
            record.get("target_bpp"), record.get("bpp"), record.get("time"), dumps(record),
        )  # fmt: skip
        cur = self._con.execute(
            """INSERT INTO points (key, image_hash, codec_key, target, status, dataset, image_id, codec, label,
                                   target_bpp, bpp, created, record)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(key) DO UPDATE SET
                   status = excluded.status, bpp = excluded.bpp, created = excluded.created,
                   record = excluded.record, label = excluded.label
               WHERE points.status = 'error'""",
            row,
        )
        return cur.rowcount > 0

    def delete(self, labels: Iterable[str]) -> int:
        """Remove every point of the given codec labels (one transaction); returns how many were removed."""
        labels = tuple(labels)
        if not labels:
            return 0
        cur = self._con.execute(f"DELETE FROM points WHERE label IN ({','.join('?' * len(labels))})", labels)
        return cur.rowcount

    def set_meta(self, name: str, value: Any) -> None:
        self._con.execute("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", (name, dumps(value)))

    # -- reading ---------------------------------------------------------------------------------------------
    def done_keys(self, include_errors: bool = False) -> set[str]:
        """Keys of stored points (by default only ok/unreachable ones, so failed points are retried)."""
        sql = "SELECT key FROM points" + ("" if include_errors else " WHERE status != 'error'")
        return {k for (k,) in self._con.execute(sql)}

    def records(self, *, status: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every stored record (dict), in insertion order; optionally only some statuses."""
        sql = "SELECT record FROM points"
        args: tuple = ()
        if status is not None:
            st = tuple(status)
            sql += f" WHERE status IN ({','.join('?' * len(st))})"
            args = st
        sql += " ORDER BY rowid"
        for (text,) in self._con.execute(sql, args):
            yield json.loads(text)

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self._con.execute("SELECT count(*) FROM points").fetchone()[0]
        return self._con.execute("SELECT count(*) FROM points WHERE status = ?", (status,)).fetchone()[0]

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._con.execute("SELECT name, value FROM meta")}

    # -- closing ---------------------------------------------------------------------------------------------
    def compact(self) -> None:
        """Fold the WAL into the main file and switch to rollback journal, so the single file can be committed
        or opened read-only. Skipped silently while another connection holds the store."""
        if self.read_only:
            return
        try:
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._con.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError:
            pass

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to path through a temporary file in the same folder and os.replace (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def finite_or_none(x: Any) -> float | None:
    """A float for CSV/JSON export, None for a missing value (inf is kept)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x
