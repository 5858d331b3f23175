"""The record of one measured point: :class:`PointRecord`, the one typed shape the worker fills and the store keeps.

Identity (what the point key is made of, see :mod:`codecbench.run.store`): ``image_hash``, ``codec_key`` (codec
name, version, the settings that change the bytes, and a learned codec's model id) and ``target``. Everything
else is a measurement or provenance: ``provenance`` holds the facts that locate the implementation without
changing its output (binary path, shared-library file, torch build, checkpoint path).

Units: bpp = 8·bytes/(width·height) of the original image; times in seconds (``rate_s`` all encodes of rate
control, ``encode_s`` = rate_s / encodes, ``decode_s`` one decode, ``metric_s`` fidelity + segmentation, of
which ``fidelity_s`` and ``segment_s``); metrics as :mod:`codecbench.metrics` gives them (PSNR in dB, mIoU %).

The store keeps a record as JSON (:meth:`PointRecord.to_dict`); optional fields that were never set are left
out, so a record of a run without segmentation has no ``confusion`` key. Reading is dict-like
(``rec["bpp"]``, ``rec.get("error")``); writing goes through attributes, so a misspelt field is an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from codecbench.run.jobs import Job

STATUSES = ("ok", "unreachable", "error")

# Fields left out of to_dict() while they are None (they exist only for some codecs, segmenters or executors).
OPTIONAL = frozenset({
    "segment_s", "confusion", "confusion_void_column", "segmenter", "traceback", "attempts", "executor",
    "provenance", "job_s", "precision", "segment_batch", "segmenters", "same_stream_as",
})


@dataclass
class PointRecord:
    """One point (see the module docstring). Build it with :meth:`for_job` or :meth:`failure`."""

    image_hash: str
    codec_key: str
    target: str
    dataset: str | None = None
    image_id: str | None = None
    codec: str | None = None
    label: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    target_bpp: float | None = None
    mode: str | None = None
    status: str = "error"
    error: str | None = None
    traceback: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    worker_pid: int | None = None
    # the codec as the worker bound it
    codec_version: str | None = None
    library: str | None = None
    details: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    knob_name: str | None = None
    # the image and the stream
    width: int | None = None
    height: int | None = None
    knob: Any = None
    encodes: int | None = None
    reachable: bool | None = None
    min_bpp: float | None = None
    trials: list[list[float]] | None = None
    bytes: int | None = None
    bpp: float | None = None
    # seconds
    rate_s: float | None = None
    encode_s: float | None = None
    decode_s: float | None = None
    fidelity_s: float | None = None
    segment_s: float | None = None
    metric_s: float | None = None
    job_s: float | None = None
    device: str | None = None
    precision: str | None = None  # of SSIM / MS-SSIM ("float32" | "float64")
    # segmentation
    segment_batch: int | None = None  # frames segmented in one batch with this one (a job group)
    # the target of an earlier point of the same job group with a byte-identical stream: its decode, fidelity
    # scores and segmentation were reused (identical to recomputing them; this point's timers for them are ~0)
    same_stream_as: str | None = None
    segmenters: dict[str, dict[str, Any]] | None = None  # [[segmenters]] suites: label -> confusion, scores, ...
    confusion: list[list[int]] | None = None
    confusion_void_column: bool | None = None
    segmenter: dict[str, Any] | None = None
    # executor
    attempts: int | None = None
    executor: str | None = None
    # the run that stored it (set by the runner)
    codecbench_version: str | None = None
    git_commit: str | None = None
    run_id: str | None = None
    suite: str | None = None
    time: str | None = None

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def for_job(cls, job: Job) -> PointRecord:
        """An empty record of a job (status "error" until the measurement completes)."""
        from codecbench.run.frozen_settings import thaw

        return cls(
            image_hash=job.image.hash, codec_key=job.codec_key, target=job.target, dataset=job.image.dataset,
            image_id=job.image.id, codec=job.codec, label=job.codec_label, settings=thaw(job.settings),
            target_bpp=job.target_bpp, mode=job.mode, worker_pid=os.getpid(),
        )

    @classmethod
    def failure(cls, job: Job, error: str, traceback: str | None = None) -> PointRecord:
        """The record of a point that could not be measured (error text: ``"Kind: what happened"``)."""
        rec = cls.for_job(job)
        rec.status, rec.error, rec.traceback = "error", error, traceback
        return rec

    # -- reading ---------------------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        from codecbench.run.point_keys import point_key

        return point_key(self.image_hash, self.codec_key, self.target)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict the store keeps (with ``key``); unset optional fields are left out."""
        out: dict[str, Any] = {"key": self.key}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in OPTIONAL:
                continue
            out[f.name] = value
        return out

    def __getitem__(self, name: str) -> Any:
        if name == "key":
            return self.key
        if name not in _FIELD_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            value = self[name]
        except KeyError:
            return default
        return default if value is None else value

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def stamp(self, **run: Any) -> None:
        """Set the fields of the run that stores it (codecbench_version, git_commit, run_id, suite, time)."""
        for name, value in run.items():
            if name not in _RUN_FIELDS:
                raise AttributeError(f"{name!r} is not a run field of a PointRecord")
            setattr(self, name, value)


_FIELD_NAMES = frozenset(f.name for f in fields(PointRecord))
_RUN_FIELDS = frozenset({"codecbench_version", "git_commit", "run_id", "suite", "time"})


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store value of type {type(obj).__name__}")


def dumps(record: Any) -> str:
    """JSON with NaN/±Infinity allowed (Python's json reads them back exactly)."""
    return json.dumps(record, default=_jsonable, allow_nan=True, sort_keys=True)


def as_mapping(record: PointRecord | Mapping[str, Any]) -> Mapping[str, Any]:
    """The dict form of a record (a PointRecord, or an already plain mapping from an older caller)."""
    return record.to_dict() if isinstance(record, PointRecord) else record
