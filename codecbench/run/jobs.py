"""Jobs: small picklable descriptions of one measured point, and :func:`execute_job`, which any process runs.

A job names an image (:class:`~codecbench.datasets.ImageRef`), a codec (registry name + fixed
settings), a target bpp (None for a fixed-rate codec; or a knob value for a sweep), the fidelity metrics and
the segmenter. :func:`execute_job` binds the codec and segmenter once per process (cached), encodes with rate
control, decodes, measures and returns a :class:`~codecbench.run.record.PointRecord`. It never raises for a
failed point: the record then has ``status="error"`` and the error text.

Before measuring, :func:`execute_job` computes the codec key from its own bind and compares it with the key the
planner put in the job: a worker with another codec version (another library on a Dask worker) refuses to
measure and its record says ``KeyMismatch`` naming both versions, so nothing is stored under a wrong key.

Timing fields: see :mod:`codecbench.run.record` (segment_s includes loading the label).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from codecbench.datasets import ImageRef, load_image, load_label
from codecbench.device import device_name
from codecbench.errors import CodecbenchError
from codecbench.run.record import PointRecord
from codecbench.run.store import point_key, target_key, write_atomic


@dataclass(frozen=True)
class Job:
    """One point to measure. settings is a sorted tuple of (name, value) pairs so the job is hashable.

    codec: the registry name; codec_label: the suite's label for this codec entry (the name in tables);
    codec_key: the planner's key of the codec (:func:`codec_key_of`), which the worker checks against its own.
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


def freeze(mapping: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """A settings dict as a sorted tuple of pairs (lists become tuples)."""

    def fz(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(fz(x) for x in v)
        if isinstance(v, dict):
            return freeze(v)
        return v

    return tuple(sorted((k, fz(v)) for k, v in (mapping or {}).items()))


def thaw(pairs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in pairs}


def codec_key_of(description: dict[str, Any]) -> str:
    """The codec part of a point's key, from :meth:`Codec.describe`'s ``identity``: ``name@version`` plus the
    settings that change the bytes as canonical JSON, plus ``#model=<id>`` for a learned codec.
    (A description without ``identity`` is keyed on all its settings.)"""
    ident = description.get("identity") or description
    return identity_key(ident["name"], ident["version"], ident.get("settings", {}), ident.get("model_id"))


def identity_key(name: str, version: str, settings: dict[str, Any], model_id: str | None = None) -> str:
    """``name@version{settings JSON}`` (+ ``#model=<id>``): see :func:`codec_key_of`."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return f"{name}@{version}{text}" + (f"#model={model_id}" if model_id else "")


class KeyMismatch(CodecbenchError):
    """The worker's codec is not the one the planner keyed the job with (another version or model)."""


# ---------------------------------------------------------------------------------------------------------------
# Per-process caches: a worker binds each codec and loads each segmenter once.

_codecs: dict[tuple, Any] = {}
_segmenters: dict[tuple, Any] = {}
_lock = threading.Lock()


def _cached(cache: dict[tuple, Any], key: tuple, make) -> Any:
    """The cached object for key, made once per process by make() (outside the lock: it may be slow)."""
    with _lock:
        obj = cache.get(key)
    if obj is None:
        obj = make()
        with _lock:
            obj = cache.setdefault(key, obj)
    return obj


def bound_codec(name: str, settings: tuple[tuple[str, Any], ...], fresh: bool = False):
    """The codec bound once per process; fresh=True binds it again (a checkpoint re-exported since)."""
    from codecbench.codecs import registry

    if fresh:
        with _lock:
            _codecs.pop((name, settings), None)
    return _cached(_codecs, (name, settings), lambda: registry.create(name, **thaw(settings)))


def bound_segmenter(name: str, options: tuple[tuple[str, Any], ...]):
    from codecbench.metrics.segmenters import registry

    return _cached(_segmenters, (name, options), lambda: registry.create(name, **thaw(options)))


def clear_caches() -> None:
    with _lock:
        _codecs.clear()
        _segmenters.clear()


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


def check_key(job: Job, desc: dict[str, Any]) -> None:
    """Raise KeyMismatch unless this process's codec description gives the job's codec key."""
    mine = codec_key_of(desc)
    if mine != job.codec_key:
        ident = desc.get("identity") or desc
        raise KeyMismatch(
            f"codec {job.codec_label!r}: this worker's codec is version {ident['version']!r}"
            + (f" model {ident['model_id']}" if ident.get("model_id") else "")
            + f" (key {mine}), the planner's is {job.codec_key}; refusing to store a point under another "
            f"codec's key (install the same version on every worker)")


def _measure(job: Job, rec: PointRecord, rate=None, image: np.ndarray | None = None,
             segment: bool = True) -> np.ndarray:
    """Fill rec for one point; returns the decoded image. rate(codec, image, job) -> RateResult replaces a fresh
    match_bpp (a group's shared session), image an already loaded original; segment=False leaves the
    segmenter to the caller (a group segments its frames in one batch)."""
    from codecbench.codecs.ratecontrol import match_bpp
    from codecbench.codecs.spec import bpp_of

    codec = bound_codec(job.codec, job.settings)
    desc = codec.describe()
    if codec_key_of(desc) != job.codec_key:  # this process's bind may be stale (a re-exported checkpoint)
        codec = bound_codec(job.codec, job.settings, fresh=True)
        desc = codec.describe()
    rec.codec_version, rec.library, rec.details = desc["version"], desc["library"], desc.get("details", {})
    rec.provenance = desc.get("provenance") or None
    rec.knob_name = codec.knob.name if codec.knob else None
    check_key(job, desc)
    image = load_image(job.image) if image is None else image
    h, w = image.shape[:2]
    rec.width, rec.height = w, h

    t0 = time.perf_counter()
    if job.knob is not None:
        used = codec.knob.clip(job.knob) if codec.knob else job.knob  # the value the encoder gets is the one stored
        data = codec.encode(image, used)
        rec.knob, rec.encodes, rec.reachable, rec.min_bpp = used, 1, True, None
        rec.trials = [[used, bpp_of(data, h, w)]]
    else:
        rr = rate(codec, image, job) if rate else match_bpp(codec, image, job.target_bpp, mode=job.mode)
        data = rr.data
        rec.knob, rec.encodes, rec.reachable, rec.min_bpp = rr.knob, rr.encodes, bool(rr.reachable), rr.min_bpp
        rec.trials = [list(t) for t in rr.trials]
    rate_s = time.perf_counter() - t0
    rec.rate_s, rec.encode_s = rate_s, rate_s / max(1, rec.encodes or 1)
    rec.bytes, rec.bpp = len(data), bpp_of(data, h, w)

    t0 = time.perf_counter()
    decoded = codec.decode(data)
    rec.decode_s = time.perf_counter() - t0
    if decoded.shape != image.shape:
        raise ValueError(f"codec {job.codec!r} decoded {decoded.shape}, original is {image.shape}")

    t0 = time.perf_counter()
    device = job.device if job.device != "auto" else device_name("auto")
    rec.device = device
    if job.metrics:
        from codecbench.metrics.fidelity import fidelity

        rec.precision = job.precision
        scores = fidelity(image, decoded, job.metrics, device=device, precision=job.precision)
        rec.metrics.update({k: float(v) for k, v in scores.items()})
    rec.fidelity_s = time.perf_counter() - t0
    if job.segmenter and segment:
        _segment(job, decoded, rec)
        rec.segment_s = time.perf_counter() - t0 - rec.fidelity_s
    if job.segmenters:  # --- multi-segmenter hook (issue 15): decode once, segment many
        from codecbench.run.multiseg import segment_all

        segment_all(job, decoded, rec)
        rec.segment_s = time.perf_counter() - t0 - (rec.fidelity_s or 0.0)
    rec.metric_s = time.perf_counter() - t0

    if job.keep_dir:
        _keep(job, data, decoded)
    rec.status = "ok" if rec.reachable else "unreachable"
    return decoded


def _segment(job: Job, decoded: np.ndarray, rec: PointRecord) -> None:
    """Predict on the decoded image; confusion against ground truth with a void column (segmenter registry's
    convention: (C+1)×(C+1), column C = pixels answered "void", a miss for the true class)."""
    seg = bound_segmenter(cast(str, job.segmenter), job.segmenter_options)
    _score_segmentation(job, seg, seg.predict(decoded[None])[0], rec)


def _score_segmentation(job: Job, seg, pred: np.ndarray, rec: PointRecord) -> None:
    """Scores and confusion of one prediction against the job's ground-truth label, into rec."""
    from codecbench.metrics.segmenters import registry as segreg

    assert job.segmenter is not None
    label = load_label(job.image)
    cm = segreg.confusion(pred, label, seg.num_classes, seg.ignore_index)
    scores = segreg.scores(cm)
    rec.metrics.update(miou=float(scores.miou), pixel_accuracy=float(scores.pixel_accuracy),
                       class_accuracy=float(scores.class_accuracy))
    rec.confusion = np.asarray(cm, dtype=np.int64).tolist()
    rec.confusion_void_column = True
    rec.segmenter = {"name": job.segmenter, "num_classes": seg.num_classes, "ignore_index": seg.ignore_index,
                        "device": str(getattr(seg, "device", "")),
                        "class_names": list(seg.class_names) if seg.class_names else None,
                        **(seg.describe() if hasattr(seg, "describe") else {})}


def artifact_stem(job: Job) -> str:
    import hashlib

    codec_dir = f"{job.codec_label}-{hashlib.sha256(job.codec_key.encode()).hexdigest()[:8]}"
    safe_id = job.image.id.replace("/", "__")
    return f"{codec_dir}/{job.image.dataset}/{safe_id}@{job.target}"


def _keep(job: Job, data: bytes, decoded: np.ndarray) -> None:
    """Write the bitstream and the decoded PNG atomically under job.keep_dir."""
    import io

    from PIL import Image

    assert job.keep_dir is not None
    stem = os.path.join(job.keep_dir, artifact_stem(job))
    write_atomic(stem + ".bin", data)
    buf = io.BytesIO()
    Image.fromarray(decoded).save(buf, format="PNG")
    write_atomic(stem + ".png", buf.getvalue())
