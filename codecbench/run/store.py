"""The result store: one SQLite file, one row per measured point, written as each point finishes.

Why SQLite (standard library): every point is committed in its own transaction, so a run killed at any
moment (even ``kill -9``) loses at most the points in flight and never leaves a half-written file; WAL mode
lets readers (reports, a second run) work while a run writes; a busy timeout serialises concurrent writers
from several runs into one store; and the UNIQUE key makes a rerun compute only what is missing. A JSON or
CSV file appended by hand would need its own locking and recovery for the same guarantees.

Key of a point: (image content hash, codec key, target) where the codec key holds the codec's identity only
(:func:`codecbench.run.point_keys.codec_key_of`: ``name@version``, the settings that change the bytes as canonical
JSON, ``#model=<id>`` for a learned codec), and the target is the target bpp written with ``repr``
(``"fixed"`` for a fixed-rate codec, ``"knob=<v>"`` for a knob sweep point). Paths, library files and the
torch build are provenance, kept in each record's ``provenance`` and in the ``runs`` table.

Schema version (``meta.schema_version``, now 2): a writer migrates an older store in place, in one
transaction (:mod:`codecbench.run.migrate`); a reader of an older store gets a migrated copy in memory; a
store from a newer codecbench is refused. The ``runs`` table has one row per run: argv, start and end,
``git describe --dirty``, the versions of Python, torch, numpy, Pillow and each codec, and the summary.

Conflict rule: a stored ``ok``/``unreachable`` point is never overwritten (first writer wins, so two
concurrent runs cannot duplicate a point); a stored ``error`` point is replaced by a later attempt.

Each record is kept whole as strict JSON (valid for SQLite's ``json_extract``): a non-finite float is written
as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` and read back as that float (+inf PSNR of a lossless
point and NaN MS-SSIM round-trip exactly; records of older stores holding bare NaN tokens still read). The
fields that queries need are copied into columns.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator

from codecbench.run.point_keys import point_key
from codecbench.run.record import STATUSES, PointRecord, _jsonable, as_mapping
from codecbench.run.store_errors import (  # noqa: F401 (StoreFull, StoreReadOnly: re-exported)
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
)
from codecbench.run.store_guard import _Connection, finite_json, revive, store_error
from codecbench.run.store_schema import _SCHEMA, SCHEMA_VERSION

STORE_NAME = "store.sqlite"
STORE_TIMEOUT_ENV = "CODECBENCH_STORE_TIMEOUT"  # seconds to wait for a locked store (default 60)
INPUT_CODEC_KEY = "(input)"  # codec key of the one error record of an image that could not be loaded


def dumps(record: Any) -> str:
    """Strict JSON (no bare NaN/Infinity tokens, so SQLite's json functions accept it); see :func:`revive`."""
    return json.dumps(finite_json(record), default=_jsonable, allow_nan=False, sort_keys=True)


def resolve_store(path: str | Path) -> Path:
    """A store path: a ``*.sqlite`` file or an existing file is the store itself; anything else is a folder
    holding ``store.sqlite`` (so ``--out results_v1.2`` is a folder, never a file named ``results_v1.2``)."""
    p = Path(path)
    if p.suffix.lower() == ".sqlite" or p.is_file():
        return p
    return p / STORE_NAME


class Store:
    """A result store at ``path`` (created on first use). Use as a context manager or call :meth:`close`.

    read_only=True opens an existing store without creating or changing anything.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, timeout: float | None = None):
        self.path = resolve_store(path)
        self.read_only = read_only
        if timeout is None:
            timeout = float(os.environ.get(STORE_TIMEOUT_ENV) or 60.0)
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a store file (give the folder holding {STORE_NAME})")
        try:
            if read_only:
                if not self.path.is_file():
                    raise StoreError(f"{self.path}: no result store here")
                uri = f"file:{self.path}?mode=ro"
                con = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                con = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise store_error(self.path, exc) from None
        self._con = _Connection(con, self.path)
        try:
            if read_only:
                self._con.execute("SELECT count(*) FROM points").fetchone()
            else:
                self._create()
            found = self._schema_version()
            if found > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: written by a newer codecbench (schema {found}; this one reads "
                                 f"schema {SCHEMA_VERSION} and older)")
            if found < SCHEMA_VERSION:
                self._upgrade(found)
        except StoreError as exc:
            self._con.close()
            if "no such table" in str(exc):
                raise StoreError(f"{self.path}: not a codecbench result store (it has no points table)") from None
            raise

    def _create(self) -> None:
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.executescript(_SCHEMA)
        empty = self._con.execute("SELECT count(*) FROM points").fetchone()[0] == 0
        # a new store is born at the current schema; one with points but no version is schema 1
        self._con.execute("INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', ?)",
                          (str(SCHEMA_VERSION if empty else 1),))

    def _schema_version(self) -> int:
        row = self._con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        try:
            return int(json.loads(row[0])) if row else 1
        except (TypeError, ValueError):
            raise StoreError(f"{self.path}: unreadable schema_version {row[0]!r}") from None

    def _upgrade(self, found: int) -> None:
        """Migrate from schema ``found``: in place for a writer (one transaction), else on a copy in memory."""
        from codecbench.run.migrate import MigrationError, upgrade

        if self.read_only:
            mem = sqlite3.connect(":memory:", isolation_level=None)
            self._con.raw.backup(mem)
            self._con.close()
            self._con = _Connection(mem, self.path)
            self._con.executescript(_SCHEMA)
        try:
            upgrade(self._con.raw, found, SCHEMA_VERSION, point_key)
        except (MigrationError, sqlite3.DatabaseError) as exc:
            raise StoreError(f"{self.path}: cannot migrate from schema {found} to {SCHEMA_VERSION}: {exc}") from None

    @property
    def schema_version(self) -> int:
        return self._schema_version()

    # -- writing ---------------------------------------------------------------------------------------------
    def put(self, point: PointRecord | dict[str, Any]) -> bool:
        """Write one point in its own transaction; True when stored, False when an ok point already held the key.

        point: a PointRecord (or a plain mapping with at least image_hash, codec_key, target and status)."""
        record = as_mapping(point)
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
            record.get("target_bpp"), record.get("bpp"), record.get("time"), dumps(dict(record)),
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

    def discard(self, keys: Iterable[str]) -> int:
        """Remove the points with these keys (one transaction); returns how many were removed."""
        keys = tuple(keys)
        if not keys:
            return 0
        cur = self._con.execute(f"DELETE FROM points WHERE key IN ({','.join('?' * len(keys))})", keys)
        return cur.rowcount

    def set_meta(self, name: str, value: Any) -> None:
        self._con.execute("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", (name, dumps(value)))

    def begin_run(self, run_id: str, *, argv: list[str], started: str, git_describe: str | None,
                  versions: dict[str, Any], suite: str) -> None:
        """Add a row to the runs table (the environment a run measured in)."""
        self._con.execute(
            "INSERT OR REPLACE INTO runs (run_id, argv, started, git_describe, versions, suite) VALUES (?,?,?,?,?,?)",
            (run_id, dumps(list(argv)), started, git_describe, dumps(versions), suite),
        )

    def end_run(self, run_id: str, *, finished: str, summary: dict[str, Any]) -> None:
        self._con.execute("UPDATE runs SET finished = ?, summary = ? WHERE run_id = ?",
                          (finished, dumps(summary), run_id))

    def runs(self) -> list[dict[str, Any]]:
        """The runs table, oldest first; JSON columns decoded."""
        cur = self._con.execute("SELECT run_id, argv, started, finished, git_describe, versions, suite, summary "
                                "FROM runs ORDER BY started, rowid")
        cols = [c[0] for c in cur.description]
        out = []
        for row in cur:
            r = dict(zip(cols, row))
            for k in ("argv", "versions", "summary"):
                r[k] = json.loads(r[k]) if r[k] is not None else None
            out.append(r)
        return out

    # -- reading ---------------------------------------------------------------------------------------------
    def done_keys(self, include_errors: bool = False) -> set[str]:
        """Keys of stored points (by default only ok/unreachable ones, so failed points are retried)."""
        sql = "SELECT key FROM points" + ("" if include_errors else " WHERE status != 'error'")
        return {k for (k,) in self._con.execute(sql)}

    def set_current(self, keys: dict[str, str]) -> None:
        """Record label -> codec key of the codecs a run measures now (merged with earlier runs' labels)."""
        current = {**(self.meta().get("current_codec_keys") or {}), **keys}
        self.set_meta("current_codec_keys", current)

    def records(self, *, status: Iterable[str] | None = None, superseded: bool = False) -> Iterator[dict[str, Any]]:
        """Stored records (dicts), in insertion order; optionally only some statuses.

        Points of a label whose codec key is no longer the label's current one (a GAN checkpoint re-exported
        with a new model id, a codec upgraded) are kept in the store but left out unless superseded=True;
        a store without ``meta.current_codec_keys`` (older runs) shows every point."""
        current = {} if superseded else (self.meta().get("current_codec_keys") or {})
        sql = "SELECT label, codec_key, record FROM points"
        args: tuple = ()
        if status is not None:
            st = tuple(status)
            sql += f" WHERE status IN ({','.join('?' * len(st))})"
            args = st
        sql += " ORDER BY rowid"
        for label, codec_key, text in self._con.execute(sql, args):
            if current.get(label, codec_key) == codec_key:
                try:
                    rec = json.loads(text)
                except (TypeError, ValueError) as exc:
                    raise StoreCorrupt(f"{self.path}: the store is corrupt (a record is not valid JSON: {exc}); "
                                       f"move it aside and rerun to recompute its points") from None
                if not isinstance(rec, dict):
                    raise StoreCorrupt(f"{self.path}: the store is corrupt (a record is not a JSON object)")
                yield revive(rec)

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self._con.execute("SELECT count(*) FROM points").fetchone()[0]
        return self._con.execute("SELECT count(*) FROM points WHERE status = ?", (status,)).fetchone()[0]

    def meta(self) -> dict[str, Any]:
        try:
            return {k: revive(json.loads(v)) for k, v in self._con.execute("SELECT name, value FROM meta")}
        except (TypeError, ValueError) as exc:
            raise StoreCorrupt(f"{self.path}: the store is corrupt (a meta value is not valid JSON: {exc}); "
                               f"move it aside and rerun to recompute its points") from None

    # -- closing ---------------------------------------------------------------------------------------------
    def compact(self) -> None:
        """Fold the WAL into the main file and switch to rollback journal, so the single file can be committed
        or opened read-only. Skipped silently while another connection holds the store."""
        if self.read_only:
            return
        try:
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._con.execute("PRAGMA journal_mode=DELETE")
        except StoreLocked:
            pass

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
