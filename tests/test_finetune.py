"""Fine-tuning ESPNet on decoded images: data helpers, safetensors weights, and `codecbench segment finetune`
end to end on a tiny CamVid split (the loss falls, weights reload bit-identically, a killed run resumes to the
same weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codecbench.metrics.segmenters.finetune_data import (
    class_weights,
    make_batch,
    split,
    stream_indices,
)


def test_split_holds_out_every_kth_frame():
    train, val = split(list(range(25)), 10)
    assert val == [0, 10, 20]
    assert train == [i for i in range(25) if i % 10]
    with pytest.raises(ValueError, match="val_every"):
        split(list(range(5)), 1)


def test_class_weights_are_espnet_enet_style_and_ignore_void():
    labels = [np.array([[0, 0, 0, 1], [11, 11, 11, 11]], dtype=np.uint8)]
    w = class_weights(labels, 3, 11, outputs=4)
    p = np.array([0.75, 0.25, 0.0])
    assert np.allclose(w[:3], 1 / np.log(1.10 + p))
    assert w[3] == 0 and w.dtype == np.float32
    assert w[2] > w[1] > w[0]  # rarer classes weigh more


def test_batches_depend_only_on_seed_and_step_and_cover_the_pool():
    first = stream_indices(7, seed=3, step=0, batch=7)
    assert sorted(first) == list(range(7))  # one permutation per pass over the pool
    assert stream_indices(7, 3, 2, 3) == stream_indices(7, 3, 2, 3)
    assert stream_indices(7, 3, 0, 7) != stream_indices(7, 4, 0, 7)
    from codecbench.metrics.segmenters.finetune_data import Sample

    rng = np.random.default_rng(0)
    samples = [Sample(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8), rng.integers(0, 12, (40, 48), dtype=np.uint8),
                      f"f{i}", "orig", str(i)) for i in range(3)]
    a, la = make_batch(samples, 0, 5, 2, 16)
    b, lb = make_batch(samples, 0, 5, 2, 16)
    assert a.shape == (2, 16, 16, 3) and la.shape == (2, 16, 16) and la.dtype == np.int64
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    with pytest.raises(ValueError, match="larger than frame"):
        make_batch(samples, 0, 0, 1, 64)


def test_espnet_loads_safetensors_and_names_a_bad_file(tmp_path, espnet_weights):
    import torch
    from safetensors.torch import save_file

    from codecbench.metrics.segmenters import SegmenterError
    from codecbench.metrics.segmenters.espnet import load_network

    net = load_network(espnet_weights)
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    again = load_network(path)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(SegmenterError, match="bad.safetensors: cannot read ESPNet weights"):
        load_network(bad)


TINY = ["--codec", "jpeg", "--target", "0.15", "--limit", "4", "--val-every", "4", "--batch", "3", "--crop", "240",
        "--lr", "1e-4", "--seed", "1", "--no-progress"]


def _train_loss(weights, camvid_refs):
    """Weighted cross-entropy (full frames, void ignored) of a network on the given (image, label) pairs."""
    import torch
    import torch.nn.functional as F

    from codecbench.metrics.segmenters.espnet import load_network, preprocess

    net = load_network(weights).eval()
    images = np.stack([im for im, _ in camvid_refs])
    labels = torch.from_numpy(np.stack([lab for _, lab in camvid_refs]).astype(np.int64))
    with torch.no_grad():
        return float(F.cross_entropy(net(preprocess(images)), labels, ignore_index=11))


def test_segment_finetune_end_to_end_loss_falls_and_weights_reload_bit_identically(tmp_path, camvid_dir,
                                                                                    espnet_weights):
    import torch
    from safetensors.torch import load_file

    from codecbench.cli.main import main
    from codecbench.codecs import registry
    from codecbench.datasets import load_dataset, load_label
    from codecbench.metrics.segmenters import create
    from codecbench.metrics.segmenters.decoded import DecodedCache

    out, cache = tmp_path / "run", tmp_path / "cache"
    assert main(["segment", "finetune", "--out", str(out), "--cache", str(cache), "--epochs", "3", *TINY]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["mode"] == "recon" and prov["steps"] == 3 and prov["steps_per_epoch"] == 1
    assert prov["base_weights_name"] == "espnet_p2_q8_camvid.pth" and prov["codec_key"]
    assert prov["data"]["train_frames"] == 3 and prov["data"]["val_ids"] == [load_dataset(
        "camvid", split="train", limit=1).images[0].id]
    assert len(prov["validation_curve"]) == 4 and len(prov["train_loss_per_step"]) == 3
    assert len(prov["data_hash"]) == 64 and prov["cpu_s"] > 0 and prov["hardware"]["torch_threads"] == 1

    # the loss on the (decoded) training frames falls from the published weights to the fine-tuned ones
    ds = load_dataset("camvid", split="train", limit=4)
    recon = DecodedCache(registry.create("jpeg"), 0.15, cache)
    pairs = [(recon.get(r.hash, None).image, load_label(r)) for r in ds.images[1:]]  # cached: never re-encoded
    assert _train_loss(out / "weights.safetensors", pairs) < _train_loss(espnet_weights, pairs)

    # the weights load through the segmenter registry, bit-identical to the trained network's tensors
    trained = {k[6:]: v for k, v in load_file(str(out / "state.safetensors")).items() if k.startswith("model.")}
    seg = create("espnet", weights=str(out / "weights.safetensors"), device="cpu")
    loaded = seg.net.state_dict()
    assert set(loaded) == set(trained)
    assert all(torch.equal(loaded[k].contiguous(), trained[k]) for k in trained)
    assert seg.describe()["weights"] == "weights.safetensors"

    # running it again finds the finished run and changes nothing
    before = (out / "weights.safetensors").read_bytes()
    assert main(["segment", "finetune", "--out", str(out), "--cache", str(cache), "--epochs", "3", *TINY]) == 0
    assert (out / "weights.safetensors").read_bytes() == before


def test_a_killed_finetune_resumes_to_the_same_weights(tmp_path, camvid_dir, espnet_weights, monkeypatch):
    from codecbench.metrics.segmenters import finetune as ft
    from codecbench.metrics.segmenters.finetune_config import FinetuneConfig, FinetuneError

    # 3 train frames + 3 reconstructions, batch 2: 2 steps per epoch, 4 in all, validated after steps 3 and 4
    cfg = FinetuneConfig(mode="mixed", codec="jpeg", target_bpp=0.5, limit=4, val_every=4, epochs=2, batch=2,
                         crop=96, lr=1e-3, seed=2, val_steps=3)
    cache = tmp_path / "cache"
    whole = ft.finetune(cfg, tmp_path / "whole", cache_dir=cache, progress=False)

    real_save = ft._save_state  # patched where finetune() looks it up (imported from finetune_folder)

    def save_then_die(*args, **kw):
        real_save(*args, **kw)
        raise KeyboardInterrupt  # killed right after the first epoch's state was written

    monkeypatch.setattr(ft, "_save_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        ft.finetune(cfg, tmp_path / "killed", cache_dir=cache, progress=False)
    monkeypatch.setattr(ft, "_save_state", real_save)
    assert not (tmp_path / "killed" / "weights.safetensors").exists()
    resumed = ft.finetune(cfg, tmp_path / "killed", cache_dir=cache, progress=False)
    assert (tmp_path / "killed" / "weights.safetensors").read_bytes() == (
        tmp_path / "whole" / "weights.safetensors").read_bytes()
    assert [c["step"] for c in whole["validation_curve"]] == [0, 3, 4]
    assert resumed["validation_curve"] == whole["validation_curve"]
    assert resumed["train_loss_per_step"] == whole["train_loss_per_step"]
    assert set(resumed["validation_curve"][-1]["val"]) == {"orig", "recon"}  # mixed validates on both

    with pytest.raises(FinetuneError, match="another configuration"):
        ft.finetune(FinetuneConfig(mode="orig", limit=4, val_every=4, epochs=1), tmp_path / "whole",
                    progress=False)


def test_finetune_rejects_bad_settings(tmp_path, capsys):
    from codecbench.cli.main import main

    assert main(["segment", "finetune", "--out", str(tmp_path / "x"), "--mode", "recon"]) == 2
    assert "needs a codec" in capsys.readouterr().err
    assert main(["segment", "finetune", "--out", str(tmp_path / "x"), "--mode", "orig", "--crop", "100"]) == 2
    assert "multiple of 8" in capsys.readouterr().err


def test_two_processes_never_train_into_one_folder(tmp_path):
    from codecbench.metrics.segmenters import finetune as ft
    from codecbench.metrics.segmenters.finetune_config import FinetuneConfig, FinetuneError
    from codecbench.metrics.segmenters.finetune_folder import _lock

    held = _lock(tmp_path)  # as another process holding the folder would
    try:
        with pytest.raises(FinetuneError, match="another process is fine-tuning"):
            ft.finetune(FinetuneConfig(mode="orig", limit=4, val_every=4, epochs=1), tmp_path, progress=False)
    finally:
        held.close()
