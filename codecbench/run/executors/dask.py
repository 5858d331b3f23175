"""Run jobs on a Dask distributed cluster: a LocalCluster made on the fly, or a running scheduler by address.

    codecbench run kodak --executor dask --workers 4                # LocalCluster: 4 processes, 1 thread each
    codecbench run kodak --scheduler tcp://head:8786                # an existing cluster (implies --executor dask)

Jobs travel as small descriptions (:class:`~codecbench.run.jobs.Job`: image reference, codec name and
settings, target); every worker runs :func:`~codecbench.run.jobs.execute_job`, reading the image from its
path, so workers must see the data at the same absolute path (a shared file system) and have codecbench
installed. Records stream back in completion order (``as_completed``) to the runner, the single store writer.
At most ``window`` jobs are in flight at once (default 2 per worker thread), so a huge run never floods the
scheduler or the client's memory.

GPU jobs (``job.needs_gpu``) ask for the worker resource ``GPU=1``, so they land only on workers started with
``dask worker ADDRESS --nthreads 1 --resources GPU=1`` (one per GPU). CPU workers: ``CUDA_VISIBLE_DEVICES=
dask worker ADDRESS --nthreads 1 --nworkers N --resources CPU=1``; when any worker declares ``CPU``, CPU jobs
ask for ``CPU=1`` and so stay off the GPU workers (without it Dask may also run them on a GPU worker's
thread). On a LocalCluster with GPU jobs, one extra worker process with ``GPU=1`` is started and the CPU
workers (``CPU=1`` each) see no GPU, as with the local executor.

Faults: a task is pure (same job, same record) so it is safe to run again. When a worker dies, the scheduler
re-runs the tasks it was processing on other workers, up to ``allowed_failures`` deaths per task (scheduler
setting ``distributed.scheduler.allowed-failures``; set on the LocalCluster made here, on the scheduler's own
config otherwise), after which the point is recorded as failed (KilledWorker). Those re-runs are counted from
the scheduler's own ``remove-worker`` events (topic ``all``: the tasks processing on the lost worker), so each
record carries ``attempts`` and the run's notes say how many points were re-run. A task that raises (rare:
``execute_job`` records a failed point itself) is resubmitted up to ``retries`` times by this client, also
counted (Dask's own ``retries=`` would retry silently, so nobody could count them). Each submission has a
unique key (``pure=False``): nothing is cached or merged across runs, and the store's unique key keeps a point
from being stored twice.

Limits: the per-point ``timeout`` of a suite is not enforced on Dask workers (tasks run in worker threads, and
the timeout needs a process's main thread); a hung point holds its worker until the run is stopped.

Workers made here run without Dask's ``MALLOC_TRIM_THRESHOLD_=65536``, which made the metrics 2-3x slower in
workers (results/dask/README.md); on a real cluster set ``distributed.nanny.pre-spawn-environ.
MALLOC_TRIM_THRESHOLD_: null`` in the workers' Dask config for the same effect.

dask[distributed] is an optional extra (``pip install 'codecbench[dask]'``), imported only when a dask executor
is created; without it that gives an error naming the extra.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import Counter, deque
from typing import Any, Iterable, Iterator

from codecbench.errors import BadInput
from codecbench.run.executors.base import Executor
from codecbench.run.executors.dask_cluster import CPU_RESOURCE, GPU_RESOURCE, DaskCluster, import_distributed
from codecbench.run.jobs import Job, execute_job
from codecbench.run.record import PointRecord


def task_key(job: Job) -> str:
    """A key unique to this submission: ``point-<hash of the point key>-<random>`` (never reused)."""
    digest = hashlib.sha1(job.key.encode()).hexdigest()[:16]
    return f"point-{digest}-{uuid.uuid4().hex[:12]}"


class DaskExecutor(DaskCluster, Executor):
    """Run jobs on Dask workers.

    workers: worker processes of the LocalCluster made when no scheduler is given (1 thread each by default).
    scheduler: address of a running scheduler (``tcp://host:8786``) or path of a scheduler file (.json).
    threads: threads per LocalCluster worker. window: jobs in flight at once (default 2 per CPU worker thread,
    at least 4). retries: resubmissions of a task that raised. allowed_failures: worker deaths a task may
    survive (LocalCluster only). gpu_wait_s: how long to wait for a worker offering GPU=1 when jobs need one.
    connect_timeout_s: for the scheduler and its first worker.
    """

    name = "dask"

    def __init__(self, workers: int = 1, scheduler: str | None = None, threads: int = 1, window: int | None = None,
                 retries: int = 1, allowed_failures: int = 3, gpu_wait_s: float = 60.0,
                 connect_timeout_s: float = 120.0, dashboard: bool = False):
        if workers < 1:
            raise BadInput(f"workers must be at least 1, got {workers}")
        if threads < 1:
            raise BadInput(f"threads must be at least 1, got {threads}")
        if window is not None and window < 1:
            raise BadInput(f"window must be at least 1, got {window}")
        if retries < 0 or allowed_failures < 0:
            raise BadInput("retries and allowed_failures must be 0 or more")
        import_distributed()  # fail at creation, with the extra named, not midway through a run
        self.workers = workers
        self.scheduler = scheduler or None
        self.threads = threads
        self.window = window
        self.retries = retries
        self.allowed_failures = allowed_failures
        self.gpu_wait_s = gpu_wait_s
        self.connect_timeout_s = connect_timeout_s
        self.dashboard = dashboard
        self.client: Any = None  # distributed.Client once started
        self.cluster: Any = None  # distributed.LocalCluster when we started one
        self._gpu_nanny: Any = None
        self._lock = threading.Lock()
        self._keys: set[str] = set()          # keys submitted by this run
        self._lost: Counter[str] = Counter()  # key -> times its worker left while it was processing
        self._workers_lost: set[str] = set()
        self.stats: dict[str, Any] = {}
        self._reset_stats()

    # -- stats -----------------------------------------------------------------------------------------------
    def _reset_stats(self) -> None:
        with self._lock:
            self._keys.clear()
            self._lost.clear()
            self._workers_lost.clear()
        self.stats = {"submitted": 0, "completed": 0, "peak_in_flight": 0, "rerun_after_worker_loss": 0,
                      "resubmitted_after_error": 0, "killed": 0, "workers_lost": 0, "address": None,
                      "cpu_threads": 0, "gpu_threads": 0}

    def _on_event(self, event) -> None:
        """Scheduler event (topic "all"): note our tasks that were processing on a worker that left."""
        _, msg = event
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        keys = set(msg.get("processing-tasks") or ()) | set(msg.get("lost-computed-tasks") or ())
        with self._lock:
            mine = keys & self._keys
            for k in mine:
                self._lost[k] += 1
            if mine or not msg.get("expected"):
                self._workers_lost.add(str(msg.get("worker")))

    # -- running ---------------------------------------------------------------------------------------------
    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, PointRecord]]:
        jobs = list(jobs)
        if not jobs:
            return
        distributed = import_distributed()
        self._reset_stats()
        gpu_jobs = any(j.needs_gpu for j in jobs)
        client = self.client or self._connect(gpu_jobs)
        cpu_threads, gpu_threads, cpu_tagged = self._threads()
        queues = {False: deque(j for j in jobs if not j.needs_gpu), True: deque(j for j in jobs if j.needs_gpu)}
        if queues[True] and gpu_threads == 0 and not self._wait_for_gpu():
            while queues[True]:
                job = queues[True].popleft()
                yield job, _failed(job, f"NoGPUWorker: no Dask worker offers the resource {GPU_RESOURCE}=1 "
                                        f"after {self.gpu_wait_s:g} s; start one with `dask worker "
                                        f"{self.stats['address']} --nthreads 1 --resources {GPU_RESOURCE}=1`")
            cpu_threads, gpu_threads, cpu_tagged = self._threads()
        self.stats.update(cpu_threads=cpu_threads, gpu_threads=gpu_threads)
        self.workers = cpu_threads + gpu_threads  # jobs at once, for the run's overhead figure
        limits = {False: self.window or max(4, 2 * cpu_threads), True: max(2, 2 * gpu_threads)}
        running: dict[Any, tuple[Job, int]] = {}  # future -> (job, submissions so far)
        count = {False: 0, True: 0}
        ac = distributed.as_completed()

        def submit(job: Job, tries: int) -> None:
            key = task_key(job)
            with self._lock:
                self._keys.add(key)
            fut = client.submit(execute_job, job, key=key, pure=False, resources=(
                {GPU_RESOURCE: 1} if job.needs_gpu else {CPU_RESOURCE: 1} if cpu_tagged else None))
            running[fut] = (job, tries)
            count[job.needs_gpu] += 1
            self.stats["submitted"] += 1
            self.stats["peak_in_flight"] = max(self.stats["peak_in_flight"], len(running))
            ac.add(fut)

        def fill() -> None:
            for lane, queue in queues.items():
                while queue and count[lane] < limits[lane]:
                    submit(queue.popleft(), 1)

        fill()
        try:
            for fut in ac:
                job, tries = running.pop(fut)
                count[job.needs_gpu] -= 1
                rec = self._outcome(fut, job, tries, submit, distributed)
                fill()
                if rec is not None:
                    self.stats["completed"] += len(rec) if isinstance(rec, list) else 1  # points, not tasks
                    yield job, rec
        finally:
            if running:  # stopped early: nothing left computing for nobody
                client.cancel(list(running), force=True)
            self._finish_stats()

    def _outcome(self, fut, job: Job, tries: int, submit, distributed) -> PointRecord | None:
        """The record of a finished future, or None when the job was resubmitted."""
        with self._lock:
            lost = self._lost.pop(fut.key, 0)
            self._keys.discard(fut.key)
        killed = False
        try:
            rec = fut.result()
        except distributed.KilledWorker as exc:
            killed = True
            self.stats["killed"] += 1
            rec = _failed(job, f"KilledWorker: {lost or self.allowed_failures + 1} worker(s) died while running "
                               f"this point ({exc}); rerun to retry")
        except Exception as exc:  # the task raised, or its result could not travel back
            if tries <= self.retries:
                self.stats["resubmitted_after_error"] += 1
                submit(job, tries + 1)
                return None
            rec = _failed(job, f"{type(exc).__name__} on a Dask worker after {tries} submission(s): {exc}")
        finally:
            fut.release()
        if lost and not killed:
            self.stats["rerun_after_worker_loss"] += len(rec) if isinstance(rec, list) else 1  # points
        for r in (rec if isinstance(rec, list) else [rec]):  # a job group returns one record per target
            r.attempts, r.executor = tries + lost, "dask"
        return rec

    def _finish_stats(self) -> None:
        with self._lock:
            self.stats["workers_lost"] = len(self._workers_lost)

    def notes(self) -> list[str]:
        """Lines for the run summary: where the jobs ran and what was retried."""
        s = self.stats
        if not s["submitted"]:
            return []
        where = s["address"] + (" (LocalCluster)" if self.cluster is not None else "")
        return [
            f"dask: {s['completed']} point(s) on {s['cpu_threads']} CPU + {s['gpu_threads']} GPU worker thread(s) "
            f"at {where}",
            f"dask retries: {s['rerun_after_worker_loss']} point(s) re-run after their worker was lost "
            f"({s['workers_lost']} worker(s) lost), {s['resubmitted_after_error']} resubmitted after an error, "
            f"{s['killed']} given up (KilledWorker)",
        ]


def _failed(job: Job, error: str) -> PointRecord:
    return PointRecord.failure(job, error)
