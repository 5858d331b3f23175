"""Segmentation scores from a confusion matrix accumulated over a whole dataset.

Conventions (dataset-level, as the Cityscapes evaluation does):
- The confusion matrix is int64 C×C, rows = truth class, columns = predicted class; pixels whose truth is the
  ignore index are left out. Matrices of disjoint sets of images add up to the matrix of their union, so one
  matrix is accumulated per (codec, setting) over all images and scores are computed once from the sum.
- IoU of class c = TP / (TP + FP + FN) in percent. A class that occurs neither in the truth nor in the
  predictions has IoU NaN and is left out of the mean (a class only predicted has IoU 0 and counts).
- mIoU = mean of the non-NaN IoUs; pixel accuracy = correct / counted pixels; class accuracy = mean, over the
  classes present in the truth, of their recall TP / (TP + FN). All in percent; NaN when nothing was counted.
- Reference labels: the dataset's ground truth where it has labels; otherwise "pseudo ground truth", the
  segmenter's prediction on the uncompressed image (:func:`pseudo_ground_truth`), which then measures how much
  the codec changes the segmentation rather than its accuracy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

REFERENCES = ("ground_truth", "pseudo")


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int,
                     ignore_index: int | None = None) -> np.ndarray:
    """Confusion matrix (int64 C×C, rows truth, cols prediction) of integer label maps of the same shape.

    Truth pixels equal to ignore_index are skipped; any other value outside 0..C-1, in either map, is an error.
    """
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and truth {target.shape} label maps differ in shape")
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    for name, arr in (("prediction", pred), ("truth", target)):
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)):
            raise ValueError(f"{name} labels must be integers, got dtype {arr.dtype}")
    t = target.reshape(-1).astype(np.int64, copy=False)
    p = pred.reshape(-1).astype(np.int64, copy=False)
    if ignore_index is not None:
        keep = t != ignore_index
        if not keep.all():
            t, p = t[keep], p[keep]
    for name, arr in (("truth", t), ("prediction", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            bad = arr[(arr < 0) | (arr >= num_classes)]
            raise ValueError(
                f"{name} labels must be in 0..{num_classes - 1}"
                + (f" or the ignore index {ignore_index}" if name == "truth" and ignore_index is not None else "")
                + f"; found {sorted(set(np.unique(bad)[:5].tolist()))}"
            )
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64, copy=False)


@dataclass
class SegmentationScores:
    """Scores in percent; per_class_iou holds NaN for classes absent from both truth and prediction."""

    miou: float
    pixel_accuracy: float
    class_accuracy: float
    per_class_iou: list[float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def scores_from_confusion(cm: np.ndarray) -> SegmentationScores:
    """mIoU, pixel accuracy, class accuracy and per-class IoU (percent) of a C×C confusion matrix."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square C×C, got shape {cm.shape}")
    if cm.size and cm.min() < 0:
        raise ValueError("confusion matrix has negative counts")
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    truth = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    union = truth + predicted - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan) * 100.0
        recall = np.where(truth > 0, tp / truth, np.nan) * 100.0
    total = cm.sum()
    return SegmentationScores(
        miou=_nanmean(iou),
        pixel_accuracy=float(tp.sum() / total * 100.0) if total > 0 else math.nan,
        class_accuracy=_nanmean(recall),
        per_class_iou=[float(v) for v in iou],
    )


def _nanmean(values: np.ndarray) -> float:
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else math.nan


class ConfusionAccumulator:
    """Sums confusion matrices over a dataset: ``acc.add(pred, truth)`` per image, then ``acc.scores()``."""

    def __init__(self, num_classes: int, ignore_index: int | None = None):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
        self.images = 0

    def add(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Add one image (H×W) or a batch (N×H×W); returns that input's own confusion matrix."""
        cm = confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        self.matrix += cm
        self.images += 1 if np.ndim(target) <= 2 else int(np.shape(target)[0])
        return cm

    def add_matrix(self, cm: np.ndarray, images: int = 1) -> None:
        """Add an already computed matrix (e.g. one stored with a result record)."""
        cm = np.asarray(cm, dtype=np.int64)
        if cm.shape != self.matrix.shape:
            raise ValueError(f"confusion matrix shape {cm.shape} does not match {self.matrix.shape}")
        self.matrix += cm
        self.images += images

    def scores(self) -> SegmentationScores:
        return scores_from_confusion(self.matrix)


def pseudo_ground_truth(segmenter: Any, originals: np.ndarray) -> np.ndarray:
    """Reference labels for a dataset without labels: the segmenter's prediction (int64 N×H×W) on the
    uncompressed images (N×H×W×3 RGB uint8). Every pixel counts (no ignored pixels)."""
    originals = np.asarray(originals)
    if originals.ndim == 3:
        originals = originals[None]
    if originals.ndim != 4 or originals.shape[3] != 3 or originals.dtype != np.uint8:
        raise ValueError(f"expected N×H×W×3 uint8 RGB images, got {originals.dtype} {originals.shape}")
    return np.asarray(segmenter.predict(originals), dtype=np.int64)


def choose_reference(has_labels: bool, reference: str = "auto") -> str:
    """Which reference to score against: "ground_truth" or "pseudo". "auto" picks ground truth where the
    dataset has labels and pseudo ground truth where it has none."""
    if reference == "auto":
        return "ground_truth" if has_labels else "pseudo"
    if reference not in REFERENCES:
        raise ValueError(f"reference must be 'auto', 'ground_truth' or 'pseudo', got {reference!r}")
    if reference == "ground_truth" and not has_labels:
        raise ValueError("reference 'ground_truth' asked for a dataset without labels; use 'pseudo'")
    return reference
