"""Measuring one point in this process: rate-controlled encode, decode, fidelity metrics, segmentation, kept files."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, cast

import numpy as np

from codecbench.atomicio import write_atomic
from codecbench.datasets import load_image, load_label
from codecbench.device import device_name
from codecbench.run.point_keys import check_key, codec_key_of
from codecbench.run.record import PointRecord
from codecbench.run.worker_cache import bound_codec, bound_segmenter

if TYPE_CHECKING:  # pragma: no cover
    from codecbench.run.jobs import Job


def _measure(job: Job, rec: PointRecord, rate=None, image: np.ndarray | None = None,
             segment: bool = True, streams: dict | None = None) -> np.ndarray:
    """Fill rec for one point; returns the decoded image. rate(codec, image, job) -> RateResult replaces a fresh
    match_bpp (a group's shared session), image an already loaded original; segment=False leaves the
    segmenter to the caller (a group segments its frames in one batch). streams: a group's {bytes: (target,
    decoded, fidelity scores)}; a point whose stream an earlier target of the group already produced (unreachable
    targets all end on the lowest-rate setting) reuses that decode and those scores, identical to computing them
    again, records ``same_stream_as`` and 0 s for the stages it skipped, and returns the same decoded array."""
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

    hit = streams.get(data) if streams is not None else None
    t0 = time.perf_counter()
    if hit is not None:
        rec.same_stream_as, decoded = hit[0], hit[1]
    else:
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
        scores = hit[2] if hit is not None else fidelity(image, decoded, job.metrics, device=device,
                                                         precision=job.precision)
        rec.metrics.update({k: float(v) for k, v in scores.items()})
    rec.fidelity_s = time.perf_counter() - t0
    if streams is not None and hit is None:
        streams[data] = (job.target, decoded, dict(rec.metrics))
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
