"""Segmenter registry (built-ins, entry points, broken plugins) and the scoring of void predictions."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint

import numpy as np
import pytest

from codecbench import plugins as plugins_module
from codecbench.errors import DeviceUnavailable, PluginUnavailable
from codecbench.metrics.miou import confusion_matrix, scores_from_confusion
from codecbench.metrics.segmenters import registry
from codecbench.metrics.segmenters.registry import SegmenterError, check_images, confusion, scores

# A test double, named as one: a real but trivial segmenter (class = brightness bin), loaded by entry point.
TOY_PLUGIN = '''
import numpy as np

class BrightnessBins:
    """Test double: class k where the mean of R, G, B falls in the k-th of `bins` equal bins of 0–255."""
    name = "toy"
    ignore_index = None
    device = "cpu"

    def __init__(self, bins=2):
        self.num_classes = bins
        self.class_names = tuple(f"bin{k}" for k in range(bins))

    def predict(self, images):
        mean = images.astype(np.float64).mean(axis=3)
        return np.minimum(mean * self.num_classes // 256, self.num_classes - 1).astype(np.int64)

NOT_A_SEGMENTER = 42

def no_predict(**options):
    return object()
'''


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Install entry points (a working one, a broken one, one shadowing a built-in) for the duration of a test."""
    (tmp_path / "toy_segmenter_plugin.py").write_text(textwrap.dedent(TOY_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    group = registry.ENTRY_POINT_GROUP
    eps = [
        EntryPoint("toy", "toy_segmenter_plugin:BrightnessBins", group),
        EntryPoint("broken", "no_such_module_for_codecbench_tests:Thing", group),
        EntryPoint("notcallable", "toy_segmenter_plugin:NOT_A_SEGMENTER", group),
        EntryPoint("espnet", "toy_segmenter_plugin:BrightnessBins", group),
        EntryPoint("faulty", "toy_segmenter_plugin:no_predict", group),
    ]

    def fake_entry_points(*, group):
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(plugins_module, "entry_points", fake_entry_points)
    registry.REGISTRY.refresh()
    yield
    registry.REGISTRY.refresh()
    sys.modules.pop("toy_segmenter_plugin", None)


def test_builtins_listed_without_plugins():
    assert registry.names()[0] == "espnet"
    assert registry.BUILTIN["espnet"].endswith(":ESPNetSegmenter")


def test_unknown_name_lists_known():
    with pytest.raises(KeyError, match="espnet"):
        registry.create("no-such-segmenter")


def test_entry_point_plugin_is_created_with_options(plugins):
    with pytest.warns(UserWarning):
        seg = registry.create("toy", bins=4)
    assert isinstance(seg, registry.Segmenter)
    images = np.zeros((2, 5, 6, 3), np.uint8)
    images[1] = 255
    out = seg.predict(images)
    assert out.shape == (2, 5, 6) and out.dtype == np.int64
    assert (out[0] == 0).all() and (out[1] == 3).all()


def test_broken_plugins_are_listed_with_the_reason_and_a_clash_warns(plugins):
    with pytest.warns(UserWarning) as caught:
        names = registry.names()
    messages = " ".join(str(w.message) for w in caught)
    assert "name clash" in messages and "'espnet'" in messages
    assert names[0] == "espnet" and {"toy", "broken", "notcallable"} <= set(names)
    assert registry.unavailable("broken").startswith("plugin failed to load: ModuleNotFoundError")
    assert "no_such_module_for_codecbench_tests" in registry.unavailable("broken")
    assert "not callable" in registry.unavailable("notcallable")
    assert registry.unavailable("toy") is None
    with pytest.raises(PluginUnavailable, match="plugin failed to load"):
        registry.create("broken")
    found = registry.factories()
    assert "broken" not in found and found["espnet"].__name__ == "ESPNetSegmenter"  # the built-in is kept


def test_object_without_the_interface_is_refused(plugins):
    with pytest.warns(UserWarning), pytest.raises(SegmenterError, match="predict"):
        registry.create("faulty")


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.uint8), np.zeros((1, 4, 4, 3), np.float32),
                                 np.zeros((1, 4, 4, 4), np.uint8), np.zeros((0, 4, 4, 3), np.uint8), [1, 2]])
def test_check_images_refuses(bad):
    with pytest.raises(ValueError, match="N×H×W×3|empty"):
        check_images(bad)


def test_cuda_request_without_cuda_is_explained(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert registry.resolve_device("auto").type == "cpu"
    with pytest.raises(DeviceUnavailable, match="CUDA is not available"):
        registry.resolve_device("cuda")


# --- scoring with void answers -------------------------------------------------------------------------------

def test_confusion_hand_worked():
    # 3 classes, void/ignore = 3. Truth row by row; pixel 6 (truth void) is skipped whatever is predicted.
    truth = np.array([[0, 0, 1, 1], [2, 2, 3, 0]])
    pred = np.array([[0, 3, 1, 0], [2, 3, 1, 0]])
    cm = confusion(pred, truth, 3, 3)
    expected = np.array([
        [2, 0, 0, 1],   # truth 0: two right, one answered void
        [1, 1, 0, 0],   # truth 1: one right, one taken for 0
        [0, 0, 1, 1],   # truth 2: one right, one void
        [0, 0, 0, 0],   # truth void: never counted
    ])
    np.testing.assert_array_equal(cm, expected)
    s = scores(cm)
    # IoU: class 0 = 2 / (3 + 3 - 2), class 1 = 1 / (2 + 1 - 1), class 2 = 1 / (2 + 1 - 1)
    np.testing.assert_allclose(s.per_class_iou, [50.0, 50.0, 50.0])
    assert s.miou == pytest.approx(50.0)
    assert s.pixel_accuracy == pytest.approx(100 * 4 / 7)
    assert s.class_accuracy == pytest.approx(100 * (2 / 3 + 1 / 2 + 1 / 2) / 3)


def test_void_answers_are_misses_not_false_positives():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (40, 50))
    truth[rng.random(truth.shape) < 0.1] = 255
    pred = rng.integers(0, 4, truth.shape)
    pred[rng.random(truth.shape) < 0.2] = 255  # void answers
    cm = confusion(pred, truth, 4, 255)
    s = scores(cm)
    valid = truth != 255
    # brute force over pixels
    for c in range(4):
        t, p = (truth == c) & valid, (pred == c) & valid
        assert s.per_class_iou[c] == pytest.approx(100 * (t & p).sum() / (t | p).sum())
    recall = [((truth == c) & (pred == c)).sum() / (truth == c).sum() for c in range(4)]
    assert s.class_accuracy == pytest.approx(100 * np.mean(recall))
    assert s.pixel_accuracy == pytest.approx(100 * ((pred == truth) & valid).sum() / valid.sum())
    # without void answers the (C+1) matrix agrees with the plain C×C one
    pred_no_void = np.where(pred == 255, 0, pred)
    plain = scores_from_confusion(confusion_matrix(pred_no_void, truth, 4, 255))
    ours = scores(confusion(pred_no_void, truth, 4, 255))
    assert ours.miou == pytest.approx(plain.miou) and ours.class_accuracy == pytest.approx(plain.class_accuracy)


def test_confusions_of_disjoint_images_add_up():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 12, (3, 20, 30))
    pred = rng.integers(0, 12, (3, 20, 30))
    whole = confusion(pred, truth, 11, 11)
    parts = sum(confusion(p, t, 11, 11) for p, t in zip(pred, truth))
    np.testing.assert_array_equal(whole, parts)
    assert whole.shape == (12, 12) and not whole[11].any()


def test_bad_labels_and_matrices_are_refused():
    with pytest.raises(ValueError, match=r"0\.\.2 or the ignore index 3; found \[5\]"):
        confusion(np.array([0, 5]), np.array([0, 1]), 3, 3)
    with pytest.raises(ValueError, match="found 3"):
        confusion(np.array([0, 1]), np.array([0, 3]), 3, 255)
    with pytest.raises(ValueError, match="last row"):
        scores(np.ones((3, 3), np.int64))
