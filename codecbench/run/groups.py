"""Job groups: every target of one (image, codec) measured by one job, sharing one rate-control session.

:func:`group_jobs` turns the runner's per-target jobs (those still missing from the store) into units for an
executor: a :class:`JobGroup` for each (image, codec) with two or more rate-controlled targets, the job itself
otherwise (knob sweeps, fixed-rate codecs, a lone target). :func:`execute_group` loads the image once, walks the
targets in ascending order through one :class:`~codecbench.codecs.ratecontrol.RateSession` (for an integer
knob no setting is encoded twice for the image and each search starts from the bracket the previous one left;
float knobs keep one search per target, whose answer must not depend on its company) and returns one
record per target, exactly as :func:`~codecbench.run.jobs.execute_job` would, each with its own ``encodes``
(the encodes that target added), ``rate_s``, timeout and status. With a segmenter on CUDA, the decoded frames
of the group are segmented in one batch (``segment_s`` is the batch's time shared equally, ``segment_batch`` its
size); on the CPU, where batching does not pay, frame by frame after the group's fidelity metrics.

The runner writes each record in its own transaction as its group returns: a killed run loses at most the
groups in flight, and a rerun groups only the missing targets, so it computes only what is missing.
An executor sees a group as one job: it has the attributes executors and :meth:`PointRecord.for_job` read (key,
needs_gpu, image, codec, ...); a record for the whole group (a crashed worker) is split by :func:`expand`.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Literal, cast

from codecbench.run.jobs import Job, _deadline
from codecbench.run.record import PointRecord


@dataclass(frozen=True)
class JobGroup:
    """Jobs of one image and one codec that differ only in target_bpp, sorted by target."""

    jobs: tuple[Job, ...]

    def __post_init__(self) -> None:
        if len(self.jobs) < 1:
            raise ValueError("a job group needs at least one job")

    @property
    def key(self) -> str:
        digest = hashlib.sha1("|".join(j.key for j in self.jobs).encode()).hexdigest()[:12]
        return f"group:{self.jobs[0].image.hash}:{digest}"

    @property
    def target(self) -> str:
        return ",".join(j.target for j in self.jobs)

    def __getattr__(self, name: str) -> Any:
        # everything else (image, codec, codec_label, needs_gpu, settings, ...) is the same for every job of the group
        if name.startswith("__") or name == "jobs":
            raise AttributeError(name)
        return getattr(self.jobs[0], name)


def _groupable(job: Job) -> bool:
    return job.knob is None and job.target_bpp is not None


def group_jobs(jobs: Iterable[Job]) -> list[Job | JobGroup]:
    """Units of work in first-seen order. A codec whose knob is itself the rate (JPEG 2000) is grouped too: it
    shares nothing, but loads the image once and makes fewer, larger jobs."""
    units: list[Job | JobGroup] = []
    groups: dict[tuple, list[Job]] = {}
    slots: dict[tuple, int] = {}
    for job in jobs:
        if not _groupable(job):
            units.append(job)
            continue
        gk = (job.image.hash, job.codec_key, job.codec_label)
        if gk not in groups:
            groups[gk] = []
            slots[gk] = len(units)
            units.append(job)  # placeholder, replaced below
        groups[gk].append(job)
    for gk, members in groups.items():
        if len(members) > 1:
            units[slots[gk]] = JobGroup(tuple(sorted(members, key=lambda j: cast(float, j.target_bpp))))
    return units


def expand(unit: Job | JobGroup, out: PointRecord | list[PointRecord]) -> Iterator[tuple[Job, PointRecord]]:
    """(job, record) pairs of what an executor returned for a unit; a single record for a whole group (a
    crashed worker, a lost task) becomes one failed record per target."""
    if not isinstance(unit, JobGroup):
        assert not isinstance(out, list)
        yield unit, out
        return
    if isinstance(out, list):
        yield from zip(unit.jobs, out)
        return
    for job in unit.jobs:
        yield job, PointRecord.failure(job, out.get("error") or "the group's job failed", out.get("traceback"))


def execute_group(group: JobGroup) -> list[PointRecord]:
    """Measure every target of the group; one record per job, in the group's order. Never raises."""
    from codecbench.codecs.ratecontrol import RateSession
    from codecbench.datasets import load_image
    from codecbench.run import measure, worker_cache

    first = group.jobs[0]
    records: list[PointRecord] = []
    try:
        codec = worker_cache.bound_codec(first.codec, first.settings)
        image = load_image(first.image)
        session = RateSession(codec, image, mode=cast(Literal["below", "nearest"], first.mode))
    except Exception as exc:  # the whole group fails alike: no codec, unreadable image
        for job in group.jobs:
            records.append(PointRecord.failure(job, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=6)))
        return records
    pending: list[tuple[Job, PointRecord, Any]] = []  # (job, record, decoded) waiting for the batched segmenter
    streams: dict = {}  # bytes -> (target, decoded, scores): targets that end on the same stream share the work
    for job in group.jobs:
        rec = PointRecord.for_job(job)
        t_start = time.perf_counter()
        try:
            with _deadline(job.timeout_s):
                decoded = measure._measure(job, rec, rate=lambda c, im, j: session.match(j.target_bpp), image=image,
                                           segment=False, streams=streams)
            if job.segmenter:
                pending.append((job, rec, decoded))
        except Exception as exc:
            rec.status, rec.error = "error", f"{type(exc).__name__}: {exc}"
            rec.traceback = traceback.format_exc(limit=6)
        rec.job_s = time.perf_counter() - t_start
        records.append(rec)
    if pending:
        _segment_batch(pending)
    return records


def _segment_batch(pending: list[tuple[Job, PointRecord, Any]], batch: bool | None = None) -> None:
    """Segment the decoded frames of one group: in one batch where the segmenter runs on CUDA (batch None), where
    it pays; frame by frame on the CPU, where one ESPNet batch of 5 frames costs what 5 single frames do
    (measured: 1.33–1.68 s vs 1.30–1.36 s CPU). Batched, each record gets an equal share of the batch time. A
    decoded array that several records share (the same stream) is segmented once; the others' share is 0.
    segment_s is added to metric_s and job_s; segment_batch records the batch size."""
    import numpy as np

    from codecbench.run import measure, worker_cache

    first = pending[0][0]
    try:
        with _deadline(first.timeout_s):
            seg = worker_cache.bound_segmenter(cast(str, first.segmenter), first.segmenter_options)
            if batch is None:
                batch = str(getattr(seg, "device", "cpu")).startswith("cuda")
            # a decoded array shared by several points (the same stream, see measure._measure) is segmented once;
            # the first record that carries it is charged the time
            preds: dict[int, Any] = {}
            cost: dict[int, float] = {}
            if batch:
                unique = list({id(d): d for _, _, d in pending}.values())
                t0 = time.perf_counter()
                preds = {id(d): p for d, p in zip(unique, seg.predict(np.stack(unique)))}
                cost = dict.fromkeys(preds, (time.perf_counter() - t0) / len(unique))
            else:
                for _, _, d in pending:
                    if id(d) not in preds:
                        t0 = time.perf_counter()
                        preds[id(d)] = seg.predict(d[None])[0]
                        cost[id(d)] = time.perf_counter() - t0
            n_unique = len(preds)
            for job, rec, d in pending:
                t1 = time.perf_counter()
                measure._score_segmentation(job, seg, preds[id(d)], rec)
                extra = cost.pop(id(d), 0.0) + time.perf_counter() - t1
                rec.segment_s = extra
                rec.segment_batch = n_unique if batch else 1
                rec.metric_s = (rec.metric_s or 0.0) + extra
                rec.job_s = (rec.job_s or 0.0) + extra
    except Exception as exc:
        for _, rec, _ in pending:
            rec.status, rec.error = "error", f"segmenter: {type(exc).__name__}: {exc}"
            rec.traceback = traceback.format_exc(limit=6)
