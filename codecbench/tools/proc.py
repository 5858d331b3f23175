"""Run an external program without a shell, in its own process group, with a timeout that kills the group.

:func:`run_group` starts ``argv`` with ``start_new_session=True`` so the program and everything it spawns
(make's compilers, a shell script's children) form one process group. On a timeout, or when the caller is
interrupted while waiting (a SIGALRM deadline, Ctrl-C), the whole group gets SIGKILL and is reaped before the
exception propagates: no orphan keeps running or holds a temporary folder open.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import IO, Sequence

from codecbench.errors import CodecbenchError


class ProcTimeout(CodecbenchError, TimeoutError):
    """The program ran past its timeout (seconds) and its process group was killed."""

    def __init__(self, argv: Sequence[str], timeout_s: float):
        super().__init__(f"{argv[0]} timed out after {timeout_s:g} s and was killed")
        self.argv, self.timeout_s = list(argv), timeout_s


class ProcStartError(CodecbenchError, OSError):
    """The program could not be started (not found, not executable); only raised by the start itself, so a
    TimeoutError (an OSError) arriving later while waiting is never mistaken for it."""


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group of proc (its own session) and reap proc."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
    proc.wait()


def run_group(argv: Sequence[str], *, timeout_s: float | None, cwd: str | None = None,
              stdout: int | IO | None = subprocess.PIPE, stderr: int | IO | None = subprocess.PIPE,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run argv (no shell) to completion; returns the CompletedProcess (any exit status).

    Raises :class:`ProcStartError` when it cannot be started and :class:`ProcTimeout` after ``timeout_s``
    seconds (None: no limit); anything raised while waiting (a deadline, Ctrl-C) kills the group and propagates.
    stdout/stderr: PIPE (captured as bytes), a file object, or DEVNULL.
    """
    try:
        proc = subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                env=env, start_new_session=True)
    except OSError as exc:
        raise ProcStartError(exc.errno, f"{argv[0]}: {exc.strerror or exc}") from exc
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise ProcTimeout(argv, float(timeout_s or 0)) from None
    except BaseException:  # a deadline alarm or Ctrl-C while waiting: the group must not outlive us
        kill_group(proc)
        raise
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
