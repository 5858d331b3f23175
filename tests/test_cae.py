"""The ``cae`` codec (Cheng et al. 2018): bitstream round trip and fuzzing, PCA, checkpoints, a training smoke run.

Most tests use a tiny untrained CAE exported to a temporary folder (a real model and a real range coder, just not
trained); the shipped checkpoints are checked for their provenance and their rate ordering.
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
import torch

from codecbench.codecs import registry
from codecbench.codecs.cae import bitstream
from codecbench.codecs.cae.checkpoint import CheckpointError, export, load, shipped_names
from codecbench.codecs.cae.model import CAE, fit_pca
from codecbench.codecs.spec import CodecError

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def crop():
    """A real photo crop whose sides are not multiples of 8 (45×70)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:145, 180:250])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Path of a tiny untrained CAE (width 8, K 6) with a PCA fitted on its latents of random images."""
    torch.manual_seed(0)
    model = CAE(width=8, K=6).eval()
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.mul_(4.0)  # latents of a few units, so that rounding keeps several symbols per channel
        y = model.encode(torch.rand(4, 3, 64, 64))
    fit_pca(model, y.permute(0, 2, 3, 1).reshape(-1, model.K))
    path = tmp_path_factory.mktemp("cae") / "tiny.safetensors"
    export(model, path, {"lambda": 0.0, "training": {"steps": 0, "note": "untrained test model"}})
    return path


@pytest.fixture(scope="module")
def codec(tiny):
    return registry.create("cae", checkpoint=str(tiny))


def test_round_trip_size_bpp_and_determinism(codec, crop):
    data = codec.encode(crop, 1.0)
    assert data == codec.encode(crop, 1.0)
    out = codec.decode(data)
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert np.array_equal(out, codec.decode(data))
    head, sym = bitstream.read(data)
    assert (head.width, head.height, head.K) == (70, 45, 6) and sym.shape == (6, 6, 9)
    assert len(np.unique(sym)) > 2


def test_stream_decodes_to_the_models_rounded_forward_pass(tiny, crop):
    """Decoding the stream equals running decoder(unrotate(round(rotate(encoder(x))))) directly."""
    from codecbench.codecs.cae import codec as cae_codec

    lm = load(tiny)
    data = cae_codec.encode(lm.model, lm.model_id, crop, 1.0)
    with torch.no_grad():
        z = torch.round(lm.model.rotate(lm.model.encode(cae_codec.to_tensor(crop)))).clamp(-127, 127)
        direct = cae_codec.to_image(lm.model.decode(lm.model.unrotate(z)), 45, 70)
    assert np.array_equal(cae_codec.decode(lm.model, lm.model_id, data), direct)


def test_larger_step_gives_fewer_bytes(codec, crop):
    sizes = [len(codec.encode(crop, s)) for s in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


def test_pca_is_orthonormal_and_decorrelates():
    torch.manual_seed(1)
    model = CAE(width=4, K=5)
    mix = torch.randn(5, 5)
    y = torch.randn(4000, 5) @ mix + torch.arange(5.0)
    fit_pca(model, y)
    R = model.pca_rot
    assert torch.allclose(R.T @ R, torch.eye(5), atol=1e-5)
    z = (y - model.pca_mean) @ R
    cov = np.cov(z.numpy().T)
    assert np.allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-3)
    assert list(np.diag(cov)) == sorted(np.diag(cov), reverse=True)
    y4 = y[:8].T.reshape(1, 5, 2, 4)
    assert torch.allclose(model.unrotate(model.rotate(y4)), y4, atol=1e-5)


def _fix_crc(b: bytearray) -> bytearray:
    n = struct.calcsize("<2sB4sHHBe")
    b[n:n + 4] = struct.pack("<I", zlib.crc32(bytes(b[n + 4:]), zlib.crc32(bytes(b[:n]))))
    return b


def test_fuzz_truncated_and_corrupted_streams(codec, crop):
    """Every truncation and random corruption (with and without the CRC repaired) is a clean CodecError."""
    good = codec.encode(crop, 0.5)
    rng = np.random.default_rng(0)
    cases = [good[:n] for n in range(len(good))]
    for _ in range(300):
        b = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
        cases.append(bytes(b))
        cases.append(bytes(_fix_crc(bytearray(b))))
    cases.append(bytes(_fix_crc(bytearray(good + b"\0\0\0\0"))))
    ok = 0
    for case in cases:
        try:
            out = codec.decode(case)
        except CodecError:
            continue
        assert out.dtype == np.uint8 and out.ndim == 3  # a repaired CRC over a still-valid stream may decode
        ok += 1
    assert ok < len(cases) // 10


def test_stream_of_another_model_is_refused(tiny, crop, tmp_path):
    other = CAE(width=8, K=6)
    export(other, tmp_path / "other.safetensors", {"lambda": 0.0})
    data = registry.create("cae", checkpoint=str(tiny)).encode(crop, 1.0)
    with pytest.raises(bitstream.BitstreamError, match="made by model"):
        registry.create("cae", checkpoint=str(tmp_path / "other.safetensors")).decode(data)


def test_huge_claimed_size_is_refused_before_decoding(codec, crop):
    b = bytearray(codec.encode(crop, 1.0))
    struct.pack_into("<HH", b, 7, 60000, 60000)
    with pytest.raises(CodecError, match="claims 60000×60000"):
        codec.decode(bytes(_fix_crc(b)))


def test_checkpoint_errors_name_the_file(tiny, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(tiny.read_bytes())
    bad.with_suffix(".json").write_text("{not json")
    with pytest.raises(CheckpointError, match="bad.json"):
        load(bad)
    cfg = json.loads(tiny.with_suffix(".json").read_text())
    bad.with_suffix(".json").write_text(json.dumps({**cfg, "model_id": "0" * 16}))
    with pytest.raises(CheckpointError, match="does not match"):
        load(bad)
    assert registry.get("cae").unavailable({"checkpoint": str(tmp_path / "nothing")})


def test_model_id_is_keyed_and_reload_is_bit_identical(tiny, codec):
    a, b = load(tiny), load(tiny)
    assert a.model_id == b.model_id == json.loads(tiny.with_suffix(".json").read_text())["model_id"]
    for (k, v), (_, w) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(v, w), k
    ident = codec.describe()["identity"]
    assert ident["model_id"] == a.model_id and "checkpoint" not in ident["settings"]


def test_training_smoke_exports_a_loadable_checkpoint(tmp_path, camvid_dir):
    from codecbench.codecs.cae.train import Config, train

    cfg = Config(name="smoke", width=8, K=4, budget_s=1.0, eval_every_s=100.0, batch=2, crop=64, stride=60,
                 val_frames=1, pca_crops=4)
    rec = train(cfg, camvid_dir, tmp_path, log=lambda _s: None)
    assert rec["training"]["steps"] > 0 and len(rec["validation_curve"]) == 2
    lm = load(tmp_path / "smoke.safetensors")
    assert lm.config["lambda"] == cfg.lam and (tmp_path / "smoke_val.csv").exists()


@pytest.mark.parametrize("name", shipped_names())
def test_shipped_checkpoints_say_what_trained_them(name):
    lm = load(name)
    tr = lm.config["training"]
    assert tr["steps"] > 0 and tr["train_s"] > 0 and tr["hardware"]["cpu_count"]
    assert not any("kodak" in s.lower() for s in tr["data"]["train_images"])
    assert lm.path.stat().st_size < 2 * 2**20


def test_shipped_checkpoints_order_by_lambda():
    """A larger λ (rate weight) gives fewer bytes at the same step on the same image."""
    from skimage import data

    names = shipped_names()
    if len(names) < 2:
        pytest.skip("fewer than two shipped CAE checkpoints")
    img = np.ascontiguousarray(data.astronaut()[:256, :256])
    by_lam = sorted(names, key=lambda n: load(n).config["lambda"])
    sizes = [len(registry.create("cae", checkpoint=n).encode(img, 1.0)) for n in by_lam]
    assert sizes == sorted(sizes, reverse=True)
