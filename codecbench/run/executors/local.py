"""Run jobs on this machine: in the calling process (workers=1) or in a pool of worker processes.

With workers > 1, CPU jobs go to a pool of ``workers`` worker processes (each limits torch and OpenCV to
``threads`` threads, default cpu_count // workers) and jobs that need the GPU go to a separate pool of one
process, the single GPU-holding worker (the CPU workers then see no GPU). Codecs and segmenters load lazily,
once per worker process (see :mod:`codecbench.run.jobs`).

At most ``workers`` jobs per pool are in flight. If a worker process dies (a crashing native library), the
jobs in flight in that pool are recorded as failed with that reason (the crash cannot be pinned on one of
them), the pool is restarted and the run goes on; a rerun retries failed points.

Start method: "forkserver" where available (a clean single-threaded server process that has imported the
codec, metric and job modules once, so each worker starts by fork in milliseconds instead of re-importing
torch), else "spawn". Never plain "fork" of the main process, which may hold threads (torch, tqdm).

Process hygiene (issue 11, D2/D11):
- Workers watch the main process through a pipe: the main process holds its only write end, so when it dies
  (even by SIGKILL) every worker reads EOF and exits at once (``kill(pid, 0)`` would still succeed for an
  unreaped zombie). The workers' stdout/stderr go to /dev/null, so a caller reading the run's pipes
  (``subprocess.communicate``) is never kept waiting by a worker.
- The multiprocessing machinery's temporary files (the forkserver socket) live in one run-scoped folder,
  ``$TMPDIR/codecbench-run-<pid>-*``, removed when the executor closes (also on errors and Ctrl-C), by the
  workers when they see the main process die, and, for a folder whose owner is gone, by the next run.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import shutil
import tempfile
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import Iterable, Iterator

from codecbench.errors import BadInput
from codecbench.run.executors.base import Executor
from codecbench.run.jobs import Job, execute_job
from codecbench.run.record import PointRecord

PRELOAD = ["codecbench.run.jobs", "codecbench.codecs.registry", "codecbench.codecs.ratecontrol",
           "codecbench.metrics.fidelity"]


def default_start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


RUN_DIR_PREFIX = "codecbench-run-"


def _watch_parent(conn, run_dir: str | None) -> None:
    """Exit this worker as soon as the main process is gone: conn is the read end of a pipe whose only write end
    the main process holds, so EOF means it died (or closed the executor). Removes the run folder first."""
    import threading

    def watch() -> None:
        try:
            while True:
                conn.recv_bytes()  # nothing is ever sent; returns only by EOFError/OSError
        except (EOFError, OSError):
            pass
        if run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
        os._exit(1)

    threading.Thread(target=watch, name="codecbench-parent-watch", daemon=True).start()


def _quiet_std_streams() -> None:
    """Point this worker's fds 1 and 2 at /dev/null: never hold the caller's stdout/stderr pipes."""
    fd = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    finally:
        os.close(fd)


def _init_worker(threads: int, hide_gpu: bool, parent=None, run_dir: str | None = None) -> None:
    if parent is not None:
        _watch_parent(parent, run_dir)
    _quiet_std_streams()
    if hide_gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    except Exception:  # pragma: no cover - torch missing or already initialised
        pass
    try:  # OpenCV (the float32 SSIM filters) keeps its own pool: pin it too, so workers never oversubscribe
        import cv2

        cv2.setNumThreads(threads)
    except Exception:  # pragma: no cover
        pass


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not os.path.isdir("/proc")


def run_dir_base() -> str:
    """$TMPDIR (tempfile.gettempdir()), or /tmp when that path is too long for the forkserver's Unix socket
    (108 bytes in all, with the run folder and the socket name)."""
    base = tempfile.gettempdir()
    return base if len(base) <= 60 or not os.path.isdir("/tmp") else "/tmp"


def sweep_stale_run_dirs() -> list[str]:
    """Remove run folders left by runs whose main process is gone (SIGKILL); returns what was removed."""
    removed = []
    for path in glob.glob(os.path.join(run_dir_base(), f"{RUN_DIR_PREFIX}*")):
        try:
            pid = int(os.path.basename(path)[len(RUN_DIR_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class _RunDir:
    """The run-scoped folder that multiprocessing uses for its temporary files while the pools live."""

    def __init__(self) -> None:
        sweep_stale_run_dirs()
        self.path = tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-", dir=run_dir_base())
        config = multiprocessing.process.current_process()._config  # type: ignore[attr-defined]
        self._previous = config.get("tempdir")
        if self._previous is not None:
            _stop_forkserver()  # it listens on a socket in the previous folder; start afresh in ours
        config["tempdir"] = self.path

    def remove(self) -> None:
        _stop_forkserver()  # its socket is in the folder
        config = multiprocessing.process.current_process()._config  # type: ignore[attr-defined]
        if config.get("tempdir") == self.path:
            config.pop("tempdir", None)
        shutil.rmtree(self.path, ignore_errors=True)


def _stop_forkserver() -> None:
    try:
        from multiprocessing import forkserver

        forkserver._forkserver._stop()  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - not running, or another Python's internals
        pass


class _Lane:
    """One process pool and the jobs waiting for it."""

    def __init__(self, workers: int, threads: int, hide_gpu: bool, start_method: str, parent_conn=None,
                 run_dir: str | None = None):
        self.workers = workers
        self.args = (threads, hide_gpu, parent_conn, run_dir)
        self.ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self.ctx.set_forkserver_preload(PRELOAD)
        self.queue: deque[Job] = deque()
        self.running: dict[Future, Job] = {}
        self.pool: ProcessPoolExecutor | None = None

    def fill(self) -> None:
        while self.queue and len(self.running) < self.workers:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(self.workers, mp_context=self.ctx, initializer=_init_worker,
                                                initargs=self.args)
            job = self.queue.popleft()
            self.running[self.pool.submit(execute_job, job)] = job

    def restart(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class LocalExecutor(Executor):
    """workers: jobs at once; threads: torch threads per worker; start_method: multiprocessing start method."""

    name = "local"

    def __init__(self, workers: int = 1, threads: int | None = None, start_method: str | None = None):
        if workers < 1:
            raise BadInput(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self.start_method = start_method or default_start_method()
        self._lanes: list[_Lane] = []
        self._run_dir: _RunDir | None = None
        # (read end given to workers, write end held here) of the parent-watch pipe
        self._pipe: tuple[Connection, Connection] | None = None

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, PointRecord]]:
        jobs = list(jobs)
        gpu = [j for j in jobs if j.needs_gpu]
        cpu = [j for j in jobs if not j.needs_gpu]
        if self.workers == 1 and not (gpu and cpu):
            for job in jobs:  # in this process: simplest, and what a debugger wants
                yield job, execute_job(job)
            return
        lanes = []
        try:
            self._run_dir = _RunDir()
            self._pipe = multiprocessing.get_context(self.start_method).Pipe(duplex=False)
            watch = (self._pipe[0], self._run_dir.path)
            if cpu:
                lanes.append(_Lane(self.workers, self.threads, bool(gpu), self.start_method, *watch))
                lanes[-1].queue.extend(cpu)
            if gpu:
                lanes.append(_Lane(1, self.threads, False, self.start_method, *watch))
                lanes[-1].queue.extend(gpu)
            self._lanes = lanes
            while True:
                for lane in lanes:
                    lane.fill()
                futures = [f for lane in lanes for f in lane.running]
                if not futures:
                    return
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for lane in lanes:
                    broken = False
                    for fut in [f for f in lane.running if f in done]:
                        job = lane.running.pop(fut)
                        try:
                            yield job, fut.result()
                        except BrokenProcessPool:
                            broken = True
                            yield job, _crashed(job)
                        except Exception as exc:  # e.g. a record that cannot be pickled back
                            yield job, _crashed(job, f"{type(exc).__name__}: {exc}")
                    if broken:
                        for fut, job in list(lane.running.items()):
                            yield job, _crashed(job)
                        lane.running.clear()
                        lane.restart()
        finally:
            self.close()

    def close(self) -> None:
        try:
            for lane in self._lanes:
                lane.close()
        finally:
            self._lanes = []
            if self._pipe is not None:
                for end in self._pipe:
                    end.close()
                self._pipe = None
            if self._run_dir is not None:
                self._run_dir.remove()
                self._run_dir = None


def _crashed(job: Job, error: str | None = None) -> PointRecord:
    return PointRecord.failure(job, error or ("WorkerCrashed: a worker process died while this point was in "
                                              "flight (a crash of this point or of one measured beside it); "
                                              "rerun to retry"))
