"""Segmenters: the interface, and the registry (built-ins plus the entry-point group ``codecbench.segmenters``).

A segmenter has attributes ``name``, ``num_classes``, ``ignore_index`` (the label value its evaluation ignores,
or None), ``class_names`` and ``device``, and ``predict(images) -> labels``: RGB uint8 N×H×W×3 in, int64 N×H×W
class ids out (0 … num_classes-1), or ``ignore_index`` where the segmenter answers "none of the classes" (ESPNet's
void output).

Scoring such predictions: :func:`confusion` gives a (C+1)×(C+1) matrix whose last column counts the "void"
answers (a miss for the true class, a false positive for no class) and whose last row is always zero (truth
pixels equal to the ignore index are skipped). Per-image matrices add up; :func:`scores` turns the sum into mIoU,
pixel accuracy, class-average accuracy and per-class IoU over the C real classes. This is the published protocol
behind ESPNet's 68.30 % class-average accuracy on CamVid (void answers counted as misses).

A third-party package adds one by declaring, in its pyproject.toml::

    [project.entry-points."codecbench.segmenters"]
    mynet = "mypackage.seg:MySegmenter"

where the target is a class or any callable taking the options as keyword arguments and returning a
segmenter (or calls :func:`register`). This module is the only place that lists the built-in segmenters. The
rules are :mod:`codecbench.plugins`': a plugin that fails to load stays listed with the reason and never breaks
the harness; a name clash warns and keeps the first.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from codecbench.device import resolve_device
from codecbench.errors import CodecbenchError
from codecbench.plugins import Registry

ENTRY_POINT_GROUP = "codecbench.segmenters"

# name -> "module:attribute" of a factory (class or callable taking **options).
BUILTIN: dict[str, str] = {
    "espnet": "codecbench.metrics.segmenters.espnet:ESPNetSegmenter",
}

Factory = Callable[..., "Segmenter"]


class SegmenterError(CodecbenchError, RuntimeError):
    """A segmenter cannot be built or run (missing or wrong weights, unknown name); the message says why."""


@runtime_checkable
class Segmenter(Protocol):
    """Semantic segmentation of RGB uint8 N×H×W×3 batches into int64 N×H×W class-id maps."""

    name: str
    num_classes: int
    ignore_index: int | None
    class_names: tuple[str, ...]
    device: Any

    def predict(self, images: np.ndarray) -> np.ndarray: ...


def check_images(images: np.ndarray) -> None:
    """Raise ValueError unless images is an RGB uint8 N×H×W×3 array with N ≥ 1."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        got = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise ValueError(f"expected an RGB uint8 N×H×W×3 batch, got {got}")
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"empty image batch {images.shape}")


def confusion(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int | None) -> np.ndarray:
    """(C+1)×(C+1) int64 confusion matrix (rows truth, cols prediction) of label maps of one shape.

    Column C counts predictions equal to ignore_index ("void" answers); truth pixels equal to ignore_index are
    skipped, so row C stays zero. Other values outside 0..C-1 are an error.
    """
    from codecbench.metrics.miou import confusion_matrix

    pred = np.asarray(pred)
    target = np.asarray(target)
    c = num_classes
    bad = (pred < 0) | (pred >= c)
    if ignore_index is not None:
        bad &= pred != ignore_index
    if np.any(bad):
        raise ValueError(f"predicted labels must be in 0..{c - 1}"
                         + (f" or the ignore index {ignore_index}" if ignore_index is not None else "")
                         + f"; found {sorted(np.unique(pred[bad]).tolist())[:5]}")
    if ignore_index is not None and ignore_index != c:
        if np.any(target == c):
            raise ValueError(f"truth labels must be in 0..{c - 1} or the ignore index {ignore_index}; found {c}")
        pred = np.where(pred == ignore_index, c, pred)
    elif ignore_index is None and np.any(target == c):
        raise ValueError(f"truth labels must be in 0..{c - 1}; found {c}")
    return confusion_matrix(pred, target, c + 1, ignore_index)


def scores(cm: np.ndarray):
    """SegmentationScores (percent) over the C real classes of a (C+1)×(C+1) matrix from :func:`confusion`.

    Void answers count in the true class's row (lower recall and IoU) but are no class's false positive; the
    void entry itself is not a class and is left out of per_class_iou and of the mIoU.
    """
    from codecbench.metrics.miou import SegmentationScores, scores_from_confusion

    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 2:
        raise ValueError(f"expected a (C+1)×(C+1) confusion matrix, got shape {cm.shape}")
    if cm[-1].any():
        raise ValueError("the last row (truth = void) of the confusion matrix must be zero")
    full = scores_from_confusion(cm)
    iou = np.asarray(full.per_class_iou[:-1], dtype=np.float64)
    kept = iou[~np.isnan(iou)]
    return SegmentationScores(
        miou=float(kept.mean()) if kept.size else float("nan"),
        pixel_accuracy=full.pixel_accuracy,
        class_accuracy=full.class_accuracy,  # the void row has no truth: already out of the mean
        per_class_iou=[float(v) for v in iou],
    )


def _as_factory(obj: Any) -> Factory:
    if not callable(obj):
        raise TypeError(f"{obj!r} is not callable")
    return obj


REGISTRY: Registry[Factory] = Registry("segmenter", ENTRY_POINT_GROUP, BUILTIN, _as_factory)


def register(name: str, factory: Factory | str, *, replace: bool = False) -> None:
    """Register a segmenter factory (or a "module:attr" string) at run time."""
    REGISTRY.register(name, factory, replace=replace)


def factories() -> dict[str, Factory]:
    """Segmenter factories that load, by name (built-ins first); see :func:`unavailable` for the others."""
    return {name: obj for name, obj in REGISTRY.load_all().items() if obj is not None}


def unavailable(name: str) -> str | None:
    """None when the segmenter registered under name loads, else the reason."""
    return REGISTRY.reason(name)


def names() -> list[str]:
    """Names of every registered segmenter (built-ins first), including any that fail to load."""
    return REGISTRY.names()


def create(name: str, **options: Any) -> Segmenter:
    """Build the segmenter registered under name with the given options.

    Raises UnknownName (a KeyError listing the known names) for an unknown name, PluginUnavailable when its
    plugin fails to load, SegmenterError when the segmenter cannot be built (its message names the cause) or
    does not satisfy the interface.
    """
    seg = REGISTRY.get(name)(**options)
    if not isinstance(seg, Segmenter):
        raise SegmenterError(f"segmenter {name!r} does not provide name, num_classes, ignore_index, class_names, "
                             f"device and predict()")
    return seg


__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "REGISTRY", "Segmenter", "SegmenterError", "check_images",
           "confusion", "create", "factories", "names", "register", "resolve_device", "scores", "unavailable"]
