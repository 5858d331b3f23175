"""Several segmenters on one decoded image (a suite's ``[[segmenters]]``): decode once, segment many.

:func:`segment_all` is called by :func:`codecbench.run.jobs.execute_job` after decoding when the job lists
segmenters. For each entry (label, registry name, options) it predicts on the same decoded pixels and stores,
under ``record["segmenters"][label]``: ``confusion`` ((C+1)×(C+1) int64 with the void column, the segmenter
registry's convention), ``miou``/``pixel_accuracy``/``class_accuracy`` (percent, this image), ``segment_s``
(seconds, prediction + scoring) and ``segmenter`` (its description). The first entry also fills the record's
plain fields (``confusion``, ``metrics.miou`` …, ``segmenter``), so single-segmenter reports keep working.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from codecbench.datasets import load_label
from codecbench.run.record import PointRecord


def segment_all(job, decoded: np.ndarray, rec: PointRecord) -> None:
    from codecbench.metrics.segmenters import registry as segreg
    from codecbench.run.worker_cache import bound_segmenter

    label_map = load_label(job.image)
    out: dict[str, dict[str, Any]] = {}
    for i, (label, name, options) in enumerate(job.segmenters):
        t0 = time.perf_counter()
        seg = bound_segmenter(name, options)
        pred = seg.predict(decoded[None])[0]
        cm = segreg.confusion(pred, label_map, seg.num_classes, seg.ignore_index)
        s = segreg.scores(cm)
        desc = {"name": name, "num_classes": seg.num_classes, "ignore_index": seg.ignore_index,
                "device": str(getattr(seg, "device", "")),
                "class_names": list(seg.class_names) if seg.class_names else None,
                **(seg.describe() if hasattr(seg, "describe") else {})}
        entry = {"confusion": np.asarray(cm, dtype=np.int64).tolist(), "miou": float(s.miou),
                 "pixel_accuracy": float(s.pixel_accuracy), "class_accuracy": float(s.class_accuracy),
                 "segmenter": desc, "segment_s": time.perf_counter() - t0}
        out[label] = entry
        if i == 0:
            rec.metrics.update(miou=entry["miou"], pixel_accuracy=entry["pixel_accuracy"],
                               class_accuracy=entry["class_accuracy"])
            rec.confusion = entry["confusion"]
            rec.confusion_void_column = True
            rec.segmenter = {**desc, "label": label}
    rec.segmenters = out
