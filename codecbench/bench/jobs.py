"""Jobs: small picklable descriptions of one measured point, and :func:`execute_job`, which any process runs.

A job names an image (:class:`~codecbench.bench.datasets.ImageRef`), a codec (registry name + fixed
settings), a target bpp (None for a fixed-rate codec; or a knob value for a sweep), the fidelity metrics and
the segmenter. :func:`execute_job` binds the codec and segmenter once per process (cached), encodes with rate
control, decodes, measures and returns a record dict (see :mod:`codecbench.bench.store`). It never raises for a
failed point: the record then has ``status="error"`` and the error text.

Timing fields (seconds): ``rate_s`` all encodes spent by rate control, ``encode_s`` = rate_s / encodes
(mean per encode), ``decode_s`` one decode, ``metric_s`` fidelity + segmentation (of which ``fidelity_s`` and
``segment_s``; segment_s includes loading the label).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codecbench.bench.datasets import ImageRef, load_image, load_label
from codecbench.bench.store import point_key, target_key, write_atomic


@dataclass(frozen=True)
class Job:
    """One point to measure. settings is a sorted tuple of (name, value) pairs so the job is hashable."""

    image: ImageRef
    codec: str
    settings: tuple[tuple[str, Any], ...]
    label: str
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
    extra: tuple[tuple[str, Any], ...] = field(default=())

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
    """``name@version`` plus the fixed settings as canonical JSON: the codec part of a point's key."""
    settings = json.dumps(description.get("settings", {}), sort_keys=True, separators=(",", ":"), default=str)
    return f"{description['name']}@{description['version']}{settings}"


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


def bound_codec(name: str, settings: tuple[tuple[str, Any], ...]):
    from codecbench.codecs import registry

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


class JobTimeout(TimeoutError):
    pass


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


def base_record(job: Job) -> dict[str, Any]:
    return {
        "key": job.key,
        "image_hash": job.image.hash,
        "codec_key": job.codec_key,
        "target": job.target,
        "dataset": job.image.dataset,
        "image_id": job.image.id,
        "codec": job.codec,
        "label": job.label,
        "settings": thaw(job.settings),
        "target_bpp": job.target_bpp,
        "mode": job.mode,
        "metrics": {},
        "error": None,
        "worker_pid": os.getpid(),
        **thaw(job.extra),
    }


def execute_job(job: Job) -> dict[str, Any]:
    """Measure one point; returns its record (status ok | unreachable | error). Never raises for a bad point."""
    rec = base_record(job)
    t_start = time.perf_counter()
    try:
        with _deadline(job.timeout_s):
            _measure(job, rec)
    except Exception as exc:  # a failed point is recorded, the run goes on
        rec["status"] = "error"
        rec["error"] = f"{type(exc).__name__}: {exc}"
        rec["traceback"] = traceback.format_exc(limit=6)
    rec["job_s"] = time.perf_counter() - t_start
    return rec


def _measure(job: Job, rec: dict[str, Any]) -> None:
    from codecbench.codecs.ratecontrol import match_bpp
    from codecbench.codecs.spec import bpp_of

    codec = bound_codec(job.codec, job.settings)
    desc = codec.describe()
    rec.update(codec_version=desc["version"], library=desc["library"], details=desc.get("details", {}),
               knob_name=codec.knob.name if codec.knob else None)
    image = load_image(job.image)
    h, w = image.shape[:2]
    rec.update(width=w, height=h)

    t0 = time.perf_counter()
    if job.knob is not None:
        data = codec.encode(image, job.knob)
        rec.update(knob=job.knob, encodes=1, reachable=True, min_bpp=None, trials=[[job.knob, bpp_of(data, h, w)]])
    else:
        rr = match_bpp(codec, image, job.target_bpp, mode=job.mode)
        data = rr.data
        rec.update(knob=rr.knob, encodes=rr.encodes, reachable=bool(rr.reachable), min_bpp=rr.min_bpp,
                   trials=[list(t) for t in rr.trials])
    rate_s = time.perf_counter() - t0
    rec.update(rate_s=rate_s, encode_s=rate_s / max(1, rec["encodes"]), bytes=len(data), bpp=bpp_of(data, h, w))

    t0 = time.perf_counter()
    decoded = codec.decode(data)
    rec["decode_s"] = time.perf_counter() - t0
    if decoded.shape != image.shape:
        raise ValueError(f"codec {job.codec!r} decoded {decoded.shape}, original is {image.shape}")

    t0 = time.perf_counter()
    device = _resolve_device(job.device)
    rec["device"] = device
    if job.metrics:
        from codecbench.metrics.fidelity import fidelity

        rec["metrics"].update({k: float(v) for k, v in fidelity(image, decoded, job.metrics, device=device).items()})
    rec["fidelity_s"] = time.perf_counter() - t0
    if job.segmenter:
        _segment(job, decoded, rec)
        rec["segment_s"] = time.perf_counter() - t0 - rec["fidelity_s"]
    rec["metric_s"] = time.perf_counter() - t0

    if job.keep_dir:
        _keep(job, data, decoded)
    rec["status"] = "ok" if rec["reachable"] else "unreachable"


def _segment(job: Job, decoded: np.ndarray, rec: dict[str, Any]) -> None:
    """Predict on the decoded image; confusion against ground truth with a void column (segmenter registry's
    convention: (C+1)×(C+1), column C = pixels answered "void", a miss for the true class)."""
    from codecbench.metrics.segmenters import registry as segreg

    seg = bound_segmenter(job.segmenter, job.segmenter_options)
    label = load_label(job.image)
    pred = seg.predict(decoded[None])[0]
    cm = segreg.confusion(pred, label, seg.num_classes, seg.ignore_index)
    scores = segreg.scores(cm)
    rec["metrics"].update(miou=float(scores.miou), pixel_accuracy=float(scores.pixel_accuracy),
                          class_accuracy=float(scores.class_accuracy))
    rec["confusion"] = np.asarray(cm, dtype=np.int64).tolist()
    rec["confusion_void_column"] = True
    rec["segmenter"] = {"name": job.segmenter, "num_classes": seg.num_classes, "ignore_index": seg.ignore_index,
                        "device": str(getattr(seg, "device", "")),
                        "class_names": list(seg.class_names) if seg.class_names else None,
                        **(seg.describe() if hasattr(seg, "describe") else {})}


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover
        return "cpu"


def artifact_stem(job: Job) -> str:
    import hashlib

    codec_dir = f"{job.label}-{hashlib.sha256(job.codec_key.encode()).hexdigest()[:8]}"
    safe_id = job.image.id.replace("/", "__")
    return f"{codec_dir}/{job.image.dataset}/{safe_id}@{job.target}"


def _keep(job: Job, data: bytes, decoded: np.ndarray) -> None:
    """Write the bitstream and the decoded PNG atomically under job.keep_dir."""
    import io

    from PIL import Image

    stem = os.path.join(job.keep_dir, artifact_stem(job))
    write_atomic(stem + ".bin", data)
    buf = io.BytesIO()
    Image.fromarray(decoded).save(buf, format="PNG")
    write_atomic(stem + ".png", buf.getvalue())
