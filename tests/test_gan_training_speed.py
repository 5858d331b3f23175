"""GAN training changes for throughput and the learning curves: same batches from the uint8 image bank, the fused
discriminator pass equals two passes, fused EMA equals the per-tensor loop, snapshots, cumulative wall time, and the
optional task-aware term (beyond the paper)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from codecbench.codecs.gan.batches import ImageBank, crop_batch_reference
from codecbench.codecs.gan.checkpoint import load_model
from codecbench.codecs.gan.model import MultiScaleDiscriminator

TINY = 0.05


def _cfg(**kw):
    from codecbench.codecs.gan.train import TrainConfig

    base = dict(source="embedded", split=None, width=TINY, crop=32, batch=2, steps=4, gan_start=1, limit=3,
                val_count=1, val_every=2, ckpt_every=2, seed=3)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("same_size", [True, False])
def test_bank_draws_the_same_batches_as_the_reference(same_size):
    rng = np.random.default_rng(0)
    shapes = [(40, 52)] * 3 if same_size else [(40, 52), (20, 70), (64, 24)]
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]
    bank = ImageBank(images)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for _ in range(6):
        a = bank.crops(g1, 32, 3)
        b = crop_batch_reference(images, g2, 32, 3)
        assert a.shape == b.shape == (3, 3, 32, 32)
        assert torch.equal(a, b)
    assert bank.crops(g1, 32, 2, channels_last=True).is_contiguous(memory_format=torch.channels_last)


def test_fused_discriminator_pass_equals_two_passes():
    torch.manual_seed(0)
    d = MultiScaleDiscriminator(0.1)
    x, y = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    both = d(torch.cat([x, y]))
    for scale_both, scale_x, scale_y in zip(both, d(x), d(y)):
        for tb, tx, ty in zip(scale_both, scale_x, scale_y):
            torch.testing.assert_close(tb[:2], tx, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(tb[2:], ty, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(both[0][-1][:2], both[0][-1][2:])  # the check compares different images


def test_fused_ema_equals_the_per_tensor_loop(tmp_path):
    from codecbench.codecs.gan.train import Trainer

    tr = Trainer(_cfg(), tmp_path / "r", log=lambda m: None)
    tr.train_step()
    with torch.no_grad():
        for p in tr.model.parameters():
            p.add_(0.01)
    ref = copy.deepcopy(tr.ema)
    for pe, pm in zip(ref.state_dict().values(), tr.model.state_dict().values()):
        pe.mul_(0.9).add_(pm, alpha=0.1) if pe.is_floating_point() else pe.copy_(pm)
    tr._update_ema(0.9)
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(tr.ema.state_dict()[k], v, rtol=1e-6, atol=1e-7)


def test_snapshots_and_cumulative_wall_time(tmp_path):
    from codecbench.codecs.gan.train import Trainer

    Trainer(_cfg(steps=2, snapshot_every=1), tmp_path / "r", log=lambda m: None).run()
    wall_2 = json.loads((tmp_path / "r" / "state.json").read_text())["wall_s"]
    assert wall_2 > 0
    tr = Trainer(_cfg(steps=4, snapshot_every=1), tmp_path / "r", log=lambda m: None)
    assert tr.step == 2 and tr.wall_s == pytest.approx(wall_2)
    tr.run()
    snaps = sorted((tmp_path / "r" / "snapshots").glob("step_*.safetensors"))
    assert [s.stem for s in snaps] == ["step_000001", "step_000002", "step_000003", "step_000004"]
    cfgs = [json.loads(s.with_suffix(".json").read_text()) for s in snaps]
    walls = [c["wall_s"] for c in cfgs]
    assert walls == sorted(walls) and walls[-1] > wall_2
    assert cfgs[-1]["trained_steps"] == 4
    assert load_model(snaps[-1]).model_id == cfgs[-1]["model_id"]


def test_channels_last_training_matches_default_layout(tmp_path):
    from codecbench.codecs.gan.train import Trainer

    a = Trainer(_cfg(steps=2), tmp_path / "a", log=lambda m: None)
    b = Trainer(_cfg(steps=2, channels_last=True), tmp_path / "b", log=lambda m: None)
    for _ in range(2):
        ra, rb = a.train_step(), b.train_step()
        assert ra["mse"] == pytest.approx(rb["mse"], rel=1e-4)


def test_task_aware_term_trains_and_is_recorded(tmp_path, espnet_weights):
    from codecbench.codecs.gan.train import Trainer

    tr = Trainer(_cfg(steps=2, seg_weight=1.0, seg_weights=str(espnet_weights)), tmp_path / "t", log=lambda m: None)
    rec = tr.train_step()
    assert rec["task"] >= 0 and np.isfinite(rec["task"])
    same = tr.task(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))
    assert float(same) == pytest.approx(0.0, abs=1e-6)
    tr.export(tmp_path / "task.safetensors")
    assert json.loads((tmp_path / "task.json").read_text())["training"]["seg_weight"] == 1.0


def test_max_minutes_stops_resumably(tmp_path):
    from codecbench.codecs.gan.train import Trainer

    tr = Trainer(_cfg(steps=50, max_minutes=1e-9), tmp_path / "m", log=lambda m: None)
    tr.run()
    assert tr.step == 0 and (tmp_path / "m" / "state.json").exists()
    again = Trainer(_cfg(steps=2), tmp_path / "m", log=lambda m: None)
    again.run()
    assert again.step == 2
