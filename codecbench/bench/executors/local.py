"""Run jobs on this machine: in the calling process (workers=1) or in a pool of worker processes.

With workers > 1, CPU jobs go to a pool of ``workers`` worker processes (each limits torch to
``threads`` threads, default cpu_count // workers) and jobs that need the GPU go to a separate pool of one
process, the single GPU-holding worker (the CPU workers then see no GPU). Codecs and segmenters load lazily,
once per worker process (see :mod:`codecbench.bench.jobs`).

At most ``workers`` jobs per pool are in flight. If a worker process dies (a crashing native library), the
jobs in flight in that pool are recorded as failed with that reason (the crash cannot be pinned on one of
them), the pool is restarted and the run goes on; a rerun retries failed points.

Start method: "forkserver" where available (a clean single-threaded server process that has imported the
codec, metric and job modules once, so each worker starts by fork in milliseconds instead of re-importing
torch), else "spawn". Never plain "fork" of the main process, which may hold threads (torch, tqdm).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator

from codecbench.bench.executors.base import Executor
from codecbench.bench.jobs import Job, base_record, execute_job


PRELOAD = ["codecbench.bench.jobs", "codecbench.codecs.registry", "codecbench.codecs.ratecontrol",
           "codecbench.metrics.fidelity"]


def default_start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _watch_parent(pid: int, period: float = 1.0) -> None:
    """Exit this worker soon after the main process is gone (e.g. killed with SIGKILL), instead of lingering."""
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(period)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - pid reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="codecbench-parent-watch", daemon=True).start()


def _init_worker(threads: int, hide_gpu: bool, parent: int | None = None) -> None:
    if parent:
        _watch_parent(parent)
    if hide_gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        import torch

        torch.set_num_threads(threads)
    except Exception:  # pragma: no cover - torch missing or already initialised
        pass


class _Lane:
    """One process pool and the jobs waiting for it."""

    def __init__(self, workers: int, threads: int, hide_gpu: bool, start_method: str):
        self.workers = workers
        self.args = (threads, hide_gpu, os.getpid())
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
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self.start_method = start_method or default_start_method()
        self._lanes: list[_Lane] = []

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict]]:
        jobs = list(jobs)
        gpu = [j for j in jobs if j.needs_gpu]
        cpu = [j for j in jobs if not j.needs_gpu]
        if self.workers == 1 and not (gpu and cpu):
            for job in jobs:  # in this process: simplest, and what a debugger wants
                yield job, execute_job(job)
            return
        lanes = []
        if cpu:
            lanes.append(_Lane(self.workers, self.threads, bool(gpu), self.start_method))
            lanes[-1].queue.extend(cpu)
        if gpu:
            lanes.append(_Lane(1, self.threads, False, self.start_method))
            lanes[-1].queue.extend(gpu)
        self._lanes = lanes
        try:
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
        for lane in self._lanes:
            lane.close()
        self._lanes = []


def _crashed(job: Job, error: str | None = None) -> dict:
    rec = base_record(job)
    rec["status"] = "error"
    rec["error"] = error or ("WorkerCrashed: a worker process died while this point was in flight "
                             "(a crash of this point or of one measured beside it); rerun to retry")
    return rec
