"""Store schema migrations, applied in place by :class:`~codecbench.run.store.Store` when it opens an older store.

Schema 1 → 2 (honest point keys). A schema-1 codec key was ``name@version{all settings}`` where the version
string could hold provenance (JPEG 2000: ``[bundled with Pillow (libopenjp2-….so.2.5.4)]``; GAN: ``, torch
2.13.0+cpu``; BPG: ``(/path/to/bpgenc)``) and the GAN settings held the checkpoint name or path and the device,
but not the model id. Schema 2 keys hold identity only (see :func:`codecbench.run.point_keys.codec_key_of`): the
version without those suffixes, the settings without the codec's keyless ones, and ``#model=<id>`` from the
record's ``details``. Each row's ``key``, ``codec_key`` and the same fields inside its JSON are rewritten; the
rest of the record (measurements, ``codec_version`` as the codec reported it then) is kept as it was. The
``meta.last_run`` of a schema-1 store becomes the first row of the ``runs`` table.

Two old rows that map to one new key (e.g. the same GAN model measured under two checkpoint names) keep the
first usable one (ok/unreachable before error, then the older); the count of merged rows is recorded in
``meta.migrations``. A key that cannot be parsed stops the migration with a StoreError naming it: an old store
is migrated or refused, never misread.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any, Callable

from codecbench.errors import CodecbenchError

# Provenance that schema 1 appended to version strings (codec name -> patterns stripped at the end).
V1_VERSION_SUFFIXES: dict[str, tuple[str, ...]] = {
    "jpeg2000": (r" \[[^\]]*\]$",),  # " [system]", " [bundled with Pillow (libopenjp2-….so)]"
    "gan": (r", torch \S+$",),  # ", torch 2.13.0+cpu"
    "bpg": (r" \(/[^)]*\)$",),  # " (/usr/local/bin/bpgenc)"
}
# Settings that schema 1 keyed but that do not change the bytes (the model id is keyed instead).
V1_KEYLESS: dict[str, tuple[str, ...]] = {"gan": ("checkpoint", "device")}


class MigrationError(CodecbenchError, ValueError):
    """A row of an old store cannot be translated (its message names the key)."""


def v2_codec_key(record: dict[str, Any]) -> str:
    """The schema-2 codec key of a schema-1 record."""
    from codecbench.run.point_keys import identity_key

    old = record["codec_key"]
    name = record.get("codec") or old.split("@", 1)[0]
    head = f"{name}@"
    brace = old.find("{", len(head))
    if not old.startswith(head) or brace < 0:
        raise MigrationError(f"codec key {old!r} is not of the form name@version{{settings}}")
    version = old[len(head):brace]
    try:
        settings = json.loads(old[brace:])
    except json.JSONDecodeError as exc:
        raise MigrationError(f"codec key {old!r}: settings are not JSON ({exc})") from None
    for pattern in V1_VERSION_SUFFIXES.get(name, ()):
        version = re.sub(pattern, "", version)
    for k in V1_KEYLESS.get(name, ()):
        settings.pop(k, None)
    model_id = (record.get("details") or {}).get("model_id")
    return identity_key(name, version, settings, model_id)


def _v1_to_v2(con: sqlite3.Connection, point_key: Callable[[str, str, str], str]) -> dict[str, Any]:
    rows = con.execute("SELECT rowid, key, status, record FROM points ORDER BY rowid").fetchall()
    owner: dict[str, tuple[int, str]] = {key: (rowid, status) for rowid, key, status, _ in rows}
    rekeyed = merged = 0
    for rowid, key, status, text in rows:
        rec = json.loads(text)
        try:
            ck = v2_codec_key(rec)
        except MigrationError as exc:
            raise MigrationError(f"point {key!r}: {exc}") from None
        new = point_key(rec["image_hash"], ck, rec["target"])
        if new == key:
            continue
        rec["codec_key"], rec["key"] = ck, new
        holder = owner.get(new)
        if holder is not None:  # another old row already has this identity: keep the better one
            h_rowid, h_status = holder
            if h_status != "error" or status == "error":
                con.execute("DELETE FROM points WHERE rowid = ?", (rowid,))
                merged += 1
                continue
            con.execute("DELETE FROM points WHERE rowid = ?", (h_rowid,))
            merged += 1
        con.execute("UPDATE points SET key = ?, codec_key = ?, record = ? WHERE rowid = ?",
                    (new, ck, json.dumps(rec, allow_nan=True, sort_keys=True), rowid))
        owner.pop(key, None)
        owner[new] = (rowid, status)
        rekeyed += 1
    last = con.execute("SELECT value FROM meta WHERE name = 'last_run'").fetchone()
    if last:
        lr = json.loads(last[0])
        con.execute(
            "INSERT OR IGNORE INTO runs (run_id, argv, started, finished, git_describe, versions, suite, summary) "
            "VALUES (?, NULL, ?, ?, ?, NULL, NULL, ?)",
            (lr.get("run_id") or "schema-1", lr.get("started"), lr.get("finished"), lr.get("git_commit"),
             json.dumps(lr, sort_keys=True)),
        )
    return {"from": 1, "to": 2, "rekeyed": rekeyed, "merged": merged}


MIGRATIONS: dict[int, Callable[[sqlite3.Connection, Callable[[str, str, str], str]], dict[str, Any]]] = {
    1: _v1_to_v2,
}


def upgrade(con: sqlite3.Connection, version: int, target: int,
            point_key: Callable[[str, str, str], str]) -> list[dict[str, Any]]:
    """Migrate from schema ``version`` to ``target`` in one transaction (rolled back on any error), recording the
    steps in ``meta.migrations`` and the new ``meta.schema_version``."""
    con.execute("BEGIN IMMEDIATE")
    try:
        steps = migrate(con, version, target, point_key)
        history = con.execute("SELECT value FROM meta WHERE name = 'migrations'").fetchone()
        con.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('migrations', ?)",
                    (json.dumps((json.loads(history[0]) if history else []) + steps, sort_keys=True),))
        con.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('schema_version', ?)", (str(target),))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return steps


def migrate(con: sqlite3.Connection, version: int, target: int,
            point_key: Callable[[str, str, str], str]) -> list[dict[str, Any]]:
    """Apply the migrations from schema ``version`` up to ``target`` inside the caller's transaction."""
    done = []
    while version < target:
        step = MIGRATIONS.get(version)
        if step is None:
            raise MigrationError(f"no migration from schema {version}")
        done.append(step(con, point_key))
        version += 1
    return done
