"""The result store's exceptions, each with the exit status the CLI gives it (see :mod:`codecbench.run.store`)."""

from __future__ import annotations

from codecbench.errors import CodecbenchError


class StoreError(CodecbenchError, RuntimeError):
    """The store file is unreadable or not a codecbench store; the message names the file and what to do.

    ``exit_code`` is the CLI's exit status for it: 2 here; subclasses 3 (corrupt), 4 (disk full),
    5 (read-only / no permission), 6 (locked by another process)."""

    exit_code = 2


class StoreCorrupt(StoreError):
    """The SQLite file (or a record in it) is damaged."""

    exit_code = 3


class StoreFull(StoreError):
    """The disk (or quota) holding the store is full."""

    exit_code = 4


class StoreReadOnly(StoreError):
    """The store or its folder cannot be written (permissions, read-only file system)."""

    exit_code = 5


class StoreLocked(StoreError):
    """Another process holds a lock on the store for longer than the busy timeout."""

    exit_code = 6
