"""Jobs: small picklable descriptions of one measured point, and :func:`execute_job`, which any process runs.

A job names an image (:class:`~codecbench.datasets.ImageRef`), a codec (registry name + fixed
settings), a target bpp (None for a fixed-rate codec; or a knob value for a sweep), the fidelity metrics and
the segmenter. :func:`execute_job` binds the codec and segmenter once per process (cached), encodes with rate
control, decodes, measures and returns a :class:`~codecbench.run.record.PointRecord`. It never raises for a
failed point: the record then has ``status="error"`` and the error text.

Before measuring, :func:`execute_job` computes the codec key from its own bind and compares it with the key the
planner put in the job: a worker with another codec version (another library on a Dask worker) refuses to
measure and its record says ``KeyMismatch`` naming both versions, so nothing is stored under a wrong key.

The measuring itself is :mod:`codecbench.run.measure`, the per-process caches :mod:`codecbench.run.worker_cache`,
the key and its check :mod:`codecbench.run.point_keys`. Timing fields: see :mod:`codecbench.run.record`
(segment_s includes loading the label).
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from codecbench.datasets import ImageRef
from codecbench.errors import CodecbenchError
from codecbench.run.measure import _measure
from codecbench.run.point_keys import point_key, target_key
from codecbench.run.record import PointRecord


@dataclass(frozen=True)
class Job:
    """One point to measure. settings is a sorted tuple of (name, value) pairs so the job is hashable.

    codec: the registry name; codec_label: the suite's label for this codec entry (the name in tables);
    codec_key: the planner's key of the codec (:func:`~codecbench.run.point_keys.codec_key_of`), which the worker
    checks against its own.
    """

    image: ImageRef
    codec: str
    settings: tuple[tuple[str, Any], ...]
    codec_label: str
    codec_key: str
    target_bpp: float | None
    metrics: tuple[str, ...]
    knob: float | None = None
    mode: str = "below"
    device: str = "cpu"
    segmenter: str | None = None
    segmenter_options: tuple[tuple[str, Any], ...] = ()
    keep_dir: str | None = None
    timeout_s: float | None = None
    needs_gpu: bool = False
    precision: str = "float32"  # of SSIM / MS-SSIM; not part of the key (float32 is within 1e-5 of float64)
    # several segmenters on one decode: ((label, name, frozen options), ...); see codecbench.run.multiseg
    segmenters: tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...] = ()

    @property
    def target(self) -> str:
        return target_key(self.target_bpp, self.knob)

    @property
    def key(self) -> str:
        return point_key(self.image.hash, self.codec_key, self.target)


# ---------------------------------------------------------------------------------------------------------------
# Timeouts (SIGALRM; only possible in a process's main thread, elsewhere the job runs without one)


class JobTimeout(CodecbenchError, TimeoutError):
    """A point ran past the suite's timeout."""


@contextmanager
def _deadline(seconds: float | None):
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise JobTimeout(f"point took longer than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------------------------------------------


def execute_job(job: Job) -> PointRecord:
    """Measure one point; returns its record (status ok | unreachable | error). Never raises for a bad point.

    A :class:`~codecbench.run.groups.JobGroup` (all targets of one image and codec) returns a list of records.
    """
    if getattr(job, "jobs", None) is not None:
        from codecbench.run.groups import JobGroup, execute_group

        return execute_group(cast(JobGroup, job))  # type: ignore[return-value]
    rec = PointRecord.for_job(job)
    t_start = time.perf_counter()
    try:
        with _deadline(job.timeout_s):
            _measure(job, rec)
    except Exception as exc:  # a failed point is recorded, the run goes on
        rec.status, rec.error = "error", f"{type(exc).__name__}: {exc}"
        rec.traceback = traceback.format_exc(limit=6)
    rec.job_s = time.perf_counter() - t_start
    return rec

