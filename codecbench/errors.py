"""The root of codecbench's exceptions.

Every error that codecbench raises on purpose derives from :class:`CodecbenchError` (as well as from the
builtin it has always been, e.g. ``ValueError``, so older ``except`` clauses keep working). The command line
catches this one class in :func:`codecbench.cli.main.main` and prints one line, exit status 2. The message
names the file, key or codec concerned.
"""

from __future__ import annotations


class CodecbenchError(Exception):
    """Base of every codecbench error; its message is one line naming the file, key or codec.

    exit_code: the status the command line exits with (2: the input cannot be used).
    """

    exit_code = 2


class UnknownName(CodecbenchError, KeyError, ValueError):
    """A registry name (codec, segmenter, executor, dataset) that nothing registered.

    Unlike a bare KeyError, ``str()`` gives the message itself, without repr quotes. It is also a ValueError,
    as unknown executor names always were.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PluginUnavailable(CodecbenchError, ImportError, ValueError):
    """A registered entry whose target cannot be loaded here; the message says why."""

    def __str__(self) -> str:  # ImportError's str is fine, but keep it explicit and one line
        return str(self.args[0]) if self.args else ""


class DeviceUnavailable(CodecbenchError, ValueError):
    """An explicitly requested torch device (e.g. "cuda") that this machine lacks."""


class BadInput(CodecbenchError, ValueError):
    """A value given by the user (a setting, an option, a codec label, a tolerance) that cannot be used."""


class SharedDataMissing(CodecbenchError, FileNotFoundError):
    """A file of the shared data folder (datasets, weights) is absent; the message names it and the fix."""
