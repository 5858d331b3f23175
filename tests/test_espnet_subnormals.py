"""ESPNet's subnormal weights are flushed to zero at load (a 5× CPU speed-up, issue 12) without changing a score."""

from __future__ import annotations

import numpy as np
import torch

from codecbench.metrics.segmenters import espnet
from codecbench.metrics.segmenters.espnet import flush_subnormals, load_network, preprocess
from codecbench.metrics.segmenters.espnet_model import ESPNet

TINY = torch.finfo(torch.float32).tiny


def _subnormals(net: torch.nn.Module) -> int:
    return sum(int(((t != 0) & (t.abs() < TINY)).sum()) for t in net.state_dict().values() if t.is_floating_point())


def test_flush_zeroes_exactly_the_subnormals_and_counts_them():
    net = ESPNet()
    w = net.encoder.level1.conv.weight
    with torch.no_grad():
        w.flatten()[:3] = torch.tensor([TINY / 4, -TINY / 2, TINY])  # two subnormals, one smallest normal
        net.encoder.b3.bn.running_mean[0] = TINY / 8
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert flush_subnormals(net) == 3
    assert w.flatten()[0].item() == 0.0 and w.flatten()[1].item() == 0.0
    assert w.flatten()[2].item() == TINY  # normal numbers are kept
    assert net.encoder.b3.bn.running_mean[0].item() == 0.0
    changed = [k for k, v in net.state_dict().items() if not torch.equal(v, before[k])]
    assert sorted(changed) == ["encoder.b3.bn.running_mean", "encoder.level1.conv.weight"]
    assert _subnormals(net) == 0


def test_published_weights_score_bit_identically_after_the_flush(espnet_weights, camvid_dir, monkeypatch):
    """The published CamVid weights carry thousands of subnormals; flushing them leaves every class score of
    real CamVid test frames bit-identical."""
    flushed = load_network(espnet_weights)
    monkeypatch.setattr(espnet, "flush_subnormals", lambda net: 0)
    raw = load_network(espnet_weights)
    assert _subnormals(raw) > 1000 and _subnormals(flushed) == 0
    from PIL import Image

    frames = sorted((camvid_dir / "test").glob("*.png"))[::100][:3]
    images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in frames])
    with torch.inference_mode():
        x = preprocess(images)
        a, b = raw(x), flushed(x)
    assert torch.equal(a, b)
