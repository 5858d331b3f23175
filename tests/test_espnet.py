"""ESPNet: architecture and shapes, input convention, strict weight loading, clear errors, and (with ../shared)
the published class-average accuracy on the CamVid test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from codecbench.metrics.segmenters import create
from codecbench.metrics.segmenters.espnet import BGR_MEAN, BGR_STD, ESPNetSegmenter, load_network, preprocess
from codecbench.metrics.segmenters.espnet_model import ESPNet
from codecbench.metrics.segmenters.registry import SegmenterError, confusion, scores


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> Path:
    """A state dict of a randomly initialised ESPNet saved as old PyTorch did (no num_batches_tracked),
    with non-trivial BatchNorm statistics so that eval mode matters."""
    torch.manual_seed(0)
    net = ESPNet()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path_factory.mktemp("espnet") / "random.pth"
    torch.save(state, path)
    return path


def test_state_dict_layout_matches_published_weights():
    sd = ESPNet().state_dict()
    real = {k: tuple(v.shape) for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    assert len(real) == 189
    assert real["conv.conv.weight"] == (12, 19 + 12, 3, 3)  # decoder fusion conv takes 19 + C channels
    assert real["encoder.level2_0.c1.conv.weight"] == (12, 19, 3, 3)
    assert real["encoder.level3_0.c1.conv.weight"] == (25, 131, 3, 3)
    assert real["combine_l2_l3.1.c1.conv.weight"] == (2, 24, 1, 1)
    assert real["classifier.weight"] == (12, 12, 2, 2)
    assert len([k for k in real if k.startswith("encoder.level2.") and k.endswith("c1.conv.weight")]) == 2  # p
    assert len([k for k in real if k.startswith("encoder.level3.") and k.endswith("c1.conv.weight")]) == 8  # q
    dilations = sorted(m.dilation[0] for n, m in ESPNet().encoder.level3[0].named_modules()
                       if isinstance(m, torch.nn.Conv2d) and n.startswith("d"))
    assert dilations == [1, 2, 4, 8, 16]


def test_layout_matches_keys_file(espnet_weights):
    tsv = espnet_weights.with_name("espnet_p2_q8_camvid.keys.tsv")
    if not tsv.exists():
        pytest.skip(f"{tsv} absent")
    want = {}
    for line in tsv.read_text().splitlines():
        name, shape, _dtype = line.split("\t")
        want[name] = tuple(json.loads(shape.replace("(", "[").replace(",)", "]").replace(")", "]")))
    ours = {k: tuple(v.shape) for k, v in ESPNet().state_dict().items() if not k.endswith("num_batches_tracked")}
    assert ours == want


@pytest.mark.parametrize("h,w", [(360, 480), (48, 64), (8, 8)])
def test_network_output_shape(h, w):
    with torch.inference_mode():
        out = ESPNet().eval()(torch.zeros(1, 3, h, w))
    assert out.shape == (1, 12, h, w)


def test_preprocess_follows_published_convention():
    img = np.array([[[10, 20, 30], [255, 0, 128]]], dtype=np.uint8)[None]  # 1×1×2×3 RGB
    x = preprocess(img)
    assert x.shape == (1, 3, 1, 2) and x.dtype == torch.float32
    for col, (r, g, b) in enumerate([(10, 20, 30), (255, 0, 128)]):
        for ch, v in enumerate((b, g, r)):  # BGR order
            assert x[0, ch, 0, col].item() == pytest.approx((v - BGR_MEAN[ch]) / BGR_STD[ch] / 255.0, rel=1e-6)


def test_strict_loading_without_num_batches_tracked(random_weights):
    net = load_network(random_weights)
    assert not net.training
    state = torch.load(random_weights, map_location="cpu", weights_only=True)
    for k, v in state.items():
        assert torch.equal(net.state_dict()[k], v)


def test_predict_shapes_any_size(random_weights):
    seg = ESPNetSegmenter(weights=random_weights, device="cpu", batch_size=2)
    rng = np.random.default_rng(0)
    for h, w in [(45, 60), (37, 50)]:  # the second is padded to 40×56 and cropped back
        images = rng.integers(0, 256, (3, h, w, 3), dtype=np.uint8)
        out = seg.predict(images)
        assert out.shape == (3, h, w) and out.dtype == np.int64
        assert out.min() >= 0 and out.max() <= 11
        # batching does not change the answer
        np.testing.assert_array_equal(out[2:], seg.predict(images[2:]))
    no_void = ESPNetSegmenter(weights=random_weights, device="cpu", predict_void=False)
    assert no_void.predict(images).max() <= 10


def test_padding_keeps_the_top_left_answer(random_weights):
    """A 37×50 image is run as its 40×56 edge-replicated copy, cropped back: same as running that copy."""
    seg = ESPNetSegmenter(weights=random_weights, device="cpu")
    img = np.random.default_rng(1).integers(0, 256, (1, 37, 50, 3), dtype=np.uint8)
    padded = np.pad(img, ((0, 0), (0, 3), (0, 6), (0, 0)), mode="edge")
    np.testing.assert_array_equal(seg.predict(img), seg.predict(padded)[:, :37, :50])


def test_resize_option(random_weights):
    seg = ESPNetSegmenter(weights=random_weights, device="cpu", size=(64, 48))
    assert seg.predict(np.zeros((1, 30, 41, 3), np.uint8)).shape == (1, 30, 41)
    with pytest.raises(ValueError, match="multiples of 8"):
        ESPNetSegmenter(weights=random_weights, size=(60, 45))


def test_missing_weights_error_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "espnet.pth"
    with pytest.raises(SegmenterError, match="not found") as info:
        create("espnet", weights=str(path), device="cpu")
    assert str(path) in str(info.value)


def test_unreadable_weights_error_names_the_path(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(SegmenterError, match="cannot read") as info:
        load_network(path)
    assert str(path) in str(info.value)


def test_wrong_weights_error_names_the_path(tmp_path, random_weights):
    state = torch.load(random_weights, map_location="cpu", weights_only=True)
    missing = dict(state)
    del missing["encoder.level3.7.d16.conv.weight"]
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(SegmenterError, match="level3.7.d16") as info:
        load_network(tmp_path / "missing.pth")
    assert str(tmp_path / "missing.pth") in str(info.value)
    reshaped = dict(state)
    reshaped["conv.conv.weight"] = torch.zeros(12, 28, 3, 3)  # the 16 + C variant
    torch.save(reshaped, tmp_path / "reshaped.pth")
    with pytest.raises(SegmenterError, match="conv.conv.weight"):
        load_network(tmp_path / "reshaped.pth")


def test_weights_with_code_are_refused(tmp_path):
    """weights_only loading: a pickle that would build an arbitrary object is not executed."""
    path = tmp_path / "evil.pth"
    torch.save({"x": Path("/")}, path)  # a non-tensor object needs a pickled class
    with pytest.raises(SegmenterError, match=str(path).replace(".", r"\.")):
        load_network(path)


# --- with the shared weights and CamVid --------------------------------------------------------------------

def _camvid_pairs(camvid_dir: Path, limit: int | None = None):
    from codecbench.datasets import load_dataset, load_image, load_label

    ds = load_dataset("camvid", root=camvid_dir, split="test", limit=limit)
    return ds, [(load_image(r), load_label(r)) for r in ds.images]


def test_real_weights_load_strictly_and_segment(espnet_weights, camvid_dir):
    seg = create("espnet", weights=str(espnet_weights), device="cpu")
    assert (seg.num_classes, seg.ignore_index, seg.class_names[0], seg.class_names[-1]) == (11, 11, "Sky", "Bicyclist")
    _, pairs = _camvid_pairs(camvid_dir, limit=2)
    pred = seg.predict(np.stack([p[0] for p in pairs]))
    cm = sum(confusion(p, lab, 11, 11) for p, (_, lab) in zip(pred, pairs))
    assert scores(cm).pixel_accuracy > 80.0  # a random network scores about 1/12


@pytest.mark.slow
def test_camvid_test_class_accuracy_matches_published(espnet_weights, camvid_dir):
    """Published figure (Mehta et al. 2018): class-average accuracy 68.30 % on the 233 CamVid test frames."""
    torch.set_num_threads(2)
    seg = create("espnet", weights=str(espnet_weights), device="cpu", batch_size=8)
    from codecbench.datasets import load_dataset, load_image, load_label

    ds = load_dataset("camvid", root=camvid_dir, split="test")
    assert len(ds.images) == 233
    cm = np.zeros((12, 12), np.int64)
    for start in range(0, len(ds.images), 8):
        refs = ds.images[start:start + 8]
        pred = seg.predict(np.stack([load_image(r) for r in refs]))
        for p, r in zip(pred, refs):
            cm += confusion(p, load_label(r), 11, 11)
    s = scores(cm)
    assert s.class_accuracy == pytest.approx(68.30, abs=0.05)
    assert 50.0 < s.miou < 65.0 and 80.0 < s.pixel_accuracy < 92.0
