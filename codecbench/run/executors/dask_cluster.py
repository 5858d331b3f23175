"""The Dask executor's cluster: the optional import, a running scheduler or a LocalCluster made here, its threads."""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from codecbench.errors import CodecbenchError

EXTRA_HINT = "install the optional extra: pip install 'codecbench[dask]'"
GPU_RESOURCE = "GPU"
CPU_RESOURCE = "CPU"


class DaskUnavailable(CodecbenchError, ImportError, ValueError):
    """dask.distributed is not installed (the message names the extra to install)."""


class SchedulerUnreachable(CodecbenchError, ValueError):
    """No scheduler (or no worker) answered at the given address in time; the message names the address."""


def import_distributed():
    """The ``distributed`` module, or :class:`DaskUnavailable` naming the ``codecbench[dask]`` extra."""
    try:
        import distributed
    except ImportError as exc:
        raise DaskUnavailable(f"the dask executor needs dask.distributed ({exc}); {EXTRA_HINT}") from None
    return distributed


class DaskCluster:
    """Mixin of :class:`~codecbench.run.executors.dask.DaskExecutor`: connect (or start a LocalCluster), count the
    worker threads, wait for a GPU worker, and close the client and the cluster."""

    workers: int
    scheduler: str | None
    threads: int
    allowed_failures: int
    gpu_wait_s: float
    connect_timeout_s: float
    dashboard: bool
    client: Any
    cluster: Any
    _gpu_nanny: Any
    stats: dict[str, Any]
    _on_event: Callable[[Any], None]

    def _connect(self, gpu_jobs: bool):
        distributed = import_distributed()
        if self.scheduler:
            try:
                if self.scheduler.endswith(".json") and os.path.isfile(self.scheduler):
                    where = {"scheduler_file": self.scheduler}
                else:
                    where = {"address": self.scheduler}
                self.client = distributed.Client(**where, timeout=self.connect_timeout_s)
                self.client.wait_for_workers(1, timeout=self.connect_timeout_s)
            except (OSError, TimeoutError) as exc:
                self.close()
                raise SchedulerUnreachable(
                    f"Dask scheduler {self.scheduler}: no scheduler with a worker answered within "
                    f"{self.connect_timeout_s:g} s ({type(exc).__name__}: {exc}); start one with `dask scheduler` "
                    f"and workers with `dask worker ADDRESS --nthreads 1`") from None
        else:
            import dask

            # Dask's nannies export MALLOC_TRIM_THRESHOLD_=65536 to their workers, which makes glibc mmap and
            # page-fault every large array: metrics ran 2-3x slower in a worker than in a plain process
            # (results/dask/README.md). Workers made here keep glibc's default; the nanny reads this at creation.
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=self.threads, processes=True,
                    dashboard_address=":0" if self.dashboard else None,
                    # the scheduler's HTTP server on a free port (its default 8787 may be taken; no warning)
                    scheduler_kwargs={"allowed_failures": self.allowed_failures, "dashboard_address": ":0"},
                    env={"CUDA_VISIBLE_DEVICES": ""} if gpu_jobs else None,
                    resources={CPU_RESOURCE: self.threads} if gpu_jobs else None,
                )
                if gpu_jobs:
                    self._gpu_nanny = self.cluster.sync(self._start_gpu_worker, distributed)
            self.client = distributed.Client(self.cluster, timeout=self.connect_timeout_s)
            self.client.wait_for_workers(self.workers + (1 if gpu_jobs else 0), timeout=self.connect_timeout_s)
        self.client.subscribe_topic("all", self._on_event)
        self.stats["address"] = self.client.scheduler.address
        return self.client

    async def _start_gpu_worker(self, distributed):
        """One more worker process, like the LocalCluster's own but seeing the GPU and offering GPU=1."""
        options = dict(next(iter(self.cluster.worker_spec.values()))["options"])
        options.update(nthreads=1, name="gpu-0", resources={GPU_RESOURCE: 1}, env={})
        return await distributed.Nanny(self.cluster.scheduler_address, **options)

    def _threads(self) -> tuple[int, int, bool]:
        """(CPU worker threads, GPU worker threads, whether CPU workers declare the CPU resource)."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        cpu = gpu = 0
        tagged = False
        for w in info.values():
            resources = w.get("resources") or {}
            if resources.get(GPU_RESOURCE, 0) > 0:
                gpu += w.get("nthreads", 1)
            else:
                cpu += w.get("nthreads", 1)
                tagged = tagged or resources.get(CPU_RESOURCE, 0) > 0
        return cpu, gpu, tagged

    def _wait_for_gpu(self) -> bool:
        deadline = time.monotonic() + self.gpu_wait_s
        while True:
            if self._threads()[1] > 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(1.0)

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.unsubscribe_topic("all")
            except Exception:  # pragma: no cover - already disconnected
                pass
            self.client.close()
            self.client = None
        if self._gpu_nanny is not None and self.cluster is not None:
            try:
                self.cluster.sync(self._gpu_nanny.close)
            except Exception:  # pragma: no cover - already gone
                pass
            self._gpu_nanny = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
