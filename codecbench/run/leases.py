"""Point leases: several runs into one store never compute the same point twice.

Before a run computes a point it claims it: a row ``(key, owner, expires)`` in the store's ``leases`` table,
written in the same transaction that checks the point is not stored yet. Another run that finds a live lease
leaves the point alone (it takes other points, then waits for the leased ones to be stored or their leases to
lapse). The owner renews its leases from a heartbeat thread every ``lease_s / 4`` seconds and removes each lease
as its point is stored; when the run ends every lease it still holds is released.

A dead owner's lease is taken over when it expires (``lease_s``, default 120 s, ``$CODECBENCH_LEASE_S``), or at
once when the owner ran on this host and its process is gone (the owner id holds host, pid and the process
start time, so a reused pid is not mistaken for the owner).

Time: wall-clock seconds since the epoch (time.time()).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

LEASE_ENV = "CODECBENCH_LEASE_S"
DEFAULT_LEASE_S = 120.0

_SCHEMA = "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL)"

CLAIMED, DONE, BUSY = "claimed", "done", "busy"


def lease_seconds() -> float:
    try:
        value = float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE_S)
    except ValueError:
        raise ValueError(f"${LEASE_ENV} must be a number of seconds") from None
    if not value > 0:
        raise ValueError(f"${LEASE_ENV} must be positive")
    return value


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot), None if it does not exist or is a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def make_owner(run_id: str | None = None) -> str:
    """host|pid|start time|run id: identifies the owning process across hosts and pid reuse."""
    pid = os.getpid()
    return f"{socket.gethostname()}|{pid}|{_start_time(pid) or '?'}|{run_id or uuid.uuid4().hex[:12]}"


def owner_alive(owner: str) -> bool | None:
    """False when the owner ran on this host and its process is gone; None when that cannot be told."""
    parts = owner.split("|")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit() or parts[2] == "?":
        return None
    return _start_time(int(parts[1])) == parts[2]


class Leases:
    """Claims for one run on a store file; a separate SQLite connection (thread-safe use through a lock)."""

    def __init__(self, store_path: str | Path, *, owner: str | None = None, lease_s: float | None = None,
                 since: str | None = None, timeout: float = 60.0):
        """since: ISO time this run started; an error point stored after it (by a concurrent run) counts as done
        for this run, so a failing point is not retried twice at once."""
        self.path = Path(store_path)
        self.owner = owner or make_owner()
        self.lease_s = lease_s or lease_seconds()
        self.since = since
        self._lock = threading.Lock()
        try:
            self._con = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                        check_same_thread=False)
            self._con.execute(_SCHEMA)
        except sqlite3.Error as exc:
            from codecbench.run.store import store_error

            raise store_error(self.path, exc) from None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def claim(self, key: str) -> str:
        """CLAIMED (this run computes it), DONE (stored meanwhile) or BUSY (another live run holds it)."""
        try:
            return self._claim(key)
        except sqlite3.Error as exc:
            from codecbench.run.store import store_error

            raise store_error(self.path, exc) from None

    def _claim(self, key: str) -> str:
        now = time.time()
        with self._lock:
            con = self._con
            con.execute("BEGIN IMMEDIATE")
            try:
                row = con.execute("SELECT status, created FROM points WHERE key = ?", (key,)).fetchone()
                if row is not None and (row[0] != "error" or (self.since and (row[1] or "") > self.since)):
                    con.execute("COMMIT")
                    return DONE
                lease = con.execute("SELECT owner, expires FROM leases WHERE key = ?", (key,)).fetchone()
                if (lease is not None and lease[0] != self.owner and lease[1] > now
                        and owner_alive(lease[0]) is not False):
                    con.execute("COMMIT")
                    return BUSY
                con.execute("INSERT OR REPLACE INTO leases (key, owner, expires) VALUES (?, ?, ?)",
                            (key, self.owner, now + self.lease_s))
                con.execute("COMMIT")
                return CLAIMED
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def release(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            return
        try:
            with self._lock:
                self._con.executemany("DELETE FROM leases WHERE key = ? AND owner = ?",
                                      [(k, self.owner) for k in keys])
        except sqlite3.Error as exc:
            from codecbench.run.store import store_error

            raise store_error(self.path, exc) from None

    def release_all(self) -> None:
        with self._lock:
            self._con.execute("DELETE FROM leases WHERE owner = ?", (self.owner,))

    def renew(self) -> None:
        with self._lock:
            self._con.execute("UPDATE leases SET expires = ? WHERE owner = ?", (time.time() + self.lease_s, self.owner))

    def batches(self, jobs: Iterable, *, key: Callable[[Any], str], on_done: Callable[[Any, bool], None],
                on_wait: Callable[[list], None]) -> Iterator[list]:
        """Claim jobs and yield the claimed ones, batch by batch, until none is left: first every free job, then,
        after waiting (on_wait(busy) is called once; polls every lease_s/10, at most 1 s), those whose lease lapsed.
        on_done(job, waited) for a job another run stored meanwhile (it is not yielded)."""
        seen: set[str] = set()
        pending, told = list(jobs), False
        while pending:
            batch, busy = [], []
            for job in pending:
                state = self.claim(key(job))
                if state == CLAIMED:
                    batch.append(job)
                elif state == BUSY:
                    busy.append(job)
                else:
                    on_done(job, key(job) in seen)
            if batch:
                yield batch
            elif busy:
                if not told:
                    on_wait(busy)
                    told = True
                time.sleep(min(1.0, self.lease_s / 10))
            seen.update(key(j) for j in busy)
            pending = busy

    def holders(self) -> dict[str, int]:
        """Live lease owners other than this run, with how many points each holds."""
        with self._lock:
            rows = self._con.execute("SELECT owner, count(*) FROM leases WHERE owner != ? AND expires > ? "
                                     "GROUP BY owner", (self.owner, time.time())).fetchall()
        return {o: n for o, n in rows if owner_alive(o) is not False}

    def start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(self.lease_s / 4):
                try:
                    self.renew()
                except sqlite3.Error:  # a locked or failing store: the next beat tries again
                    pass

        self._beat = threading.Thread(target=beat, name="codecbench-lease-heartbeat", daemon=True)
        self._beat.start()

    def close(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        try:
            self.release_all()
        except sqlite3.Error:
            pass  # leases left behind expire on their own
        self._con.close()

    def __enter__(self) -> "Leases":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
