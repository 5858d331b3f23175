"""Confusion matrices and segmentation scores: a hand-worked example, a brute-force loop, additivity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from codecbench.metrics.miou import (
    ConfusionAccumulator,
    SegmentationScores,
    choose_reference,
    confusion_matrix,
    pseudo_ground_truth,
    scores_from_confusion,
)


def brute_force(pred, target, num_classes, ignore_index):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for t, p in zip(np.ravel(target).tolist(), np.ravel(pred).tolist()):
        if t == ignore_index:
            continue
        cm[t, p] += 1
    return cm


def brute_scores(cm):
    c = cm.shape[0]
    ious, recalls = [], []
    for k in range(c):
        tp = cm[k, k]
        fn = sum(cm[k, j] for j in range(c) if j != k)
        fp = sum(cm[i, k] for i in range(c) if i != k)
        ious.append(100.0 * tp / (tp + fp + fn) if tp + fp + fn else math.nan)
        if tp + fn:
            recalls.append(100.0 * tp / (tp + fn))
    kept = [v for v in ious if not math.isnan(v)]
    total = cm.sum()
    return (
        sum(kept) / len(kept) if kept else math.nan,
        100.0 * np.trace(cm) / total if total else math.nan,
        sum(recalls) / len(recalls) if recalls else math.nan,
        ious,
    )


def test_hand_worked_example():
    # 4 classes, ignore 9. Truth / prediction, pixel by pixel:
    target = np.array([[0, 0, 1, 1],
                       [0, 1, 1, 9],
                       [2, 2, 9, 9]])  # fmt: skip
    pred = np.array([[0, 1, 1, 1],
                     [0, 1, 2, 3],
                     [2, 0, 0, 2]])  # fmt: skip
    cm = confusion_matrix(pred, target, 4, ignore_index=9)
    # counted pixels (truth != 9): 9.
    # truth 0 -> pred 0,1,0      ; truth 1 -> pred 1,1,1,2 ; truth 2 -> pred 2,0
    expected = np.array([[2, 1, 0, 0],
                         [0, 3, 1, 0],
                         [1, 0, 1, 0],
                         [0, 0, 0, 0]])  # fmt: skip
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64
    s = scores_from_confusion(cm)
    # IoU0 = 2/(3+3-2) = 1/2 ; IoU1 = 3/(4+4-3) = 3/5 ; IoU2 = 1/(2+2-1) = 1/3 ; class 3 absent -> NaN
    assert s.per_class_iou[:3] == pytest.approx([50.0, 60.0, 100.0 / 3])
    assert math.isnan(s.per_class_iou[3])
    assert s.miou == pytest.approx((50.0 + 60.0 + 100.0 / 3) / 3)
    assert s.pixel_accuracy == pytest.approx(100.0 * 6 / 9)
    # recalls: 2/3, 3/4, 1/2
    assert s.class_accuracy == pytest.approx(100.0 * (2 / 3 + 3 / 4 + 1 / 2) / 3)


def test_class_only_predicted_counts_as_zero():
    target = np.array([0, 0, 0, 0])
    pred = np.array([0, 0, 1, 1])
    s = scores_from_confusion(confusion_matrix(pred, target, 3))
    assert s.per_class_iou[0] == pytest.approx(50.0)
    assert s.per_class_iou[1] == 0.0  # predicted, never true: IoU 0, part of the mean
    assert math.isnan(s.per_class_iou[2])
    assert s.miou == pytest.approx(25.0)
    assert s.class_accuracy == pytest.approx(50.0)  # only class 0 is in the truth


def test_empty_matrix_gives_nan():
    s = scores_from_confusion(np.zeros((3, 3), dtype=np.int64))
    assert math.isnan(s.miou) and math.isnan(s.pixel_accuracy) and math.isnan(s.class_accuracy)
    assert isinstance(s, SegmentationScores)
    d = s.as_dict()
    assert set(d) == {"miou", "pixel_accuracy", "class_accuracy", "per_class_iou"}


label_maps = st.integers(1, 6).flatmap(
    lambda c: st.tuples(
        st.just(c),
        arrays(np.int64, (5, 7), elements=st.integers(0, c - 1)),
        arrays(np.int64, (5, 7), elements=st.sampled_from(list(range(c)) + [255])),
    )
)


@settings(max_examples=80, deadline=None)
@given(label_maps)
def test_matches_brute_force(case):
    c, pred, target = case
    cm = confusion_matrix(pred, target, c, ignore_index=255)
    np.testing.assert_array_equal(cm, brute_force(pred, target, c, 255))
    s = scores_from_confusion(cm)
    miou, pa, ca, ious = brute_scores(cm)
    np.testing.assert_allclose(s.per_class_iou, ious, equal_nan=True)
    for got, want in ((s.miou, miou), (s.pixel_accuracy, pa), (s.class_accuracy, ca)):
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want)


@settings(max_examples=40, deadline=None)
@given(label_maps, st.integers(1, 4))
def test_disjoint_parts_sum_to_whole(case, cut):
    c, pred, target = case
    whole = confusion_matrix(pred, target, c, ignore_index=255)
    parts = confusion_matrix(pred[:cut], target[:cut], c, 255) + confusion_matrix(pred[cut:], target[cut:], c, 255)
    np.testing.assert_array_equal(whole, parts)
    acc = ConfusionAccumulator(c, 255)
    acc.add(pred[:cut], target[:cut])
    acc.add(pred[cut:], target[cut:])
    np.testing.assert_array_equal(acc.matrix, whole)
    assert acc.images == 2
    np.testing.assert_allclose(acc.scores().per_class_iou, scores_from_confusion(whole).per_class_iou,
                               equal_nan=True)


def test_dataset_level_not_mean_of_images():
    """mIoU over a dataset comes from the summed matrix, not from averaging per-image mIoUs."""
    acc = ConfusionAccumulator(2)
    a = acc.add(np.array([[0, 0, 0, 1]]), np.array([[0, 0, 0, 0]]))
    b = acc.add(np.array([[1, 1]]), np.array([[1, 0]]))
    per_image = np.mean([scores_from_confusion(a).miou, scores_from_confusion(b).miou])
    assert acc.scores().miou == pytest.approx(100 * (3 / 5 + 1 / 3) / 2)
    assert acc.scores().miou != pytest.approx(per_image)
    acc.add_matrix(np.eye(2, dtype=np.int64), images=3)
    assert acc.images == 5


def test_bad_labels_are_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int), 3)
    with pytest.raises(ValueError, match=r"truth labels must be in 0\.\.2 or the ignore index 11; found \[7\]"):
        confusion_matrix(np.zeros(3, int), np.array([0, 7, 11]), 3, ignore_index=11)
    with pytest.raises(ValueError, match="prediction labels"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="integers"):
        confusion_matrix(np.zeros(2), np.zeros(2, int), 3)
    with pytest.raises(ValueError, match="square"):
        scores_from_confusion(np.zeros((2, 3)))


class ThresholdSegmenterDouble:
    """Test double for a segmenter: class 1 where the red channel exceeds 127, else 0 (not a real model)."""

    num_classes = 2
    ignore_index = None

    def predict(self, images):
        return (images[..., 0] > 127).astype(np.int64)


def test_pseudo_ground_truth_mode():
    rng = np.random.default_rng(3)
    original = rng.integers(0, 256, (2, 6, 8, 3), dtype=np.uint8)
    seg = ThresholdSegmenterDouble()
    ref = pseudo_ground_truth(seg, original)
    assert ref.shape == (2, 6, 8) and ref.dtype == np.int64
    acc = ConfusionAccumulator(2)
    acc.add(seg.predict(original), ref)
    assert acc.scores().pixel_accuracy == 100.0  # the uncompressed image agrees with itself
    distorted = np.clip(original.astype(int) + 60, 0, 255).astype(np.uint8)
    acc2 = ConfusionAccumulator(2)
    acc2.add(seg.predict(distorted), ref)
    assert acc2.scores().pixel_accuracy < 100.0
    with pytest.raises(ValueError, match="uint8"):
        pseudo_ground_truth(seg, original.astype(np.float32))


def test_choose_reference():
    assert choose_reference(True) == "ground_truth"
    assert choose_reference(False) == "pseudo"
    assert choose_reference(True, "pseudo") == "pseudo"
    with pytest.raises(ValueError, match="without labels"):
        choose_reference(False, "ground_truth")
    with pytest.raises(ValueError, match="reference must be"):
        choose_reference(True, "other")
