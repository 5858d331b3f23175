"""GAN codec: quantizer, networks, bitstream (bit-exactness, bound, fuzzing), checkpoints, training, plugin."""

from __future__ import annotations

import json
import math
import struct
import zlib

import numpy as np
import pytest
import torch

from codecbench.codecs.gan import bitstream, codec
from codecbench.codecs.gan.bitstream import BitstreamError
from codecbench.codecs.gan.checkpoint import CheckpointError, export_model, load_model, shipped_names
from codecbench.codecs.gan.model import Autoencoder, Encoder, channels
from codecbench.codecs.gan.quantizer import centres, hard, indices, quantize
from codecbench.codecs.spec import CodecError, CodecUnavailable

torch.set_num_threads(1)
TINY = 0.05  # width multiplier for fast tests: channels 3, 6, 12, 24, 48


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return Autoencoder(TINY, 8, 4).eval()


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory, tiny_model):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    mid = export_model(tiny_model, path, {"quant_mode": "ste"})
    return path, mid


@pytest.fixture(scope="module")
def street(photo):
    """A real photo cropped to sides that are not multiples of 16 (250×170)."""
    return np.ascontiguousarray(photo[100:270, 50:300])


# --- quantizer ---------------------------------------------------------------------------------------------


def test_centres_documented_positions():
    assert centres(5).tolist() == [-2, -1, 0, 1, 2]
    assert centres(2).tolist() == [-2, 2]
    c = centres(4)
    assert c[0] == -2 and c[-1] == 2 and torch.allclose(c.diff(), torch.full((3,), 4 / 3))


@pytest.mark.parametrize("L", [2, 4, 5, 8, 64])
def test_hard_is_nearest_centre(L):
    x = torch.randn(4000, generator=torch.Generator().manual_seed(L)) * 2.5
    c = centres(L)
    nearest = c[(x[:, None] - c).abs().argmin(1)]
    assert torch.allclose(hard(x, L), nearest)
    assert indices(x, L).min() >= 0 and indices(x, L).max() <= L - 1


def test_straight_through_forward_hard_backward_soft():
    x = torch.tensor([-1.9, -0.2, 0.3, 1.1, 2.7], requires_grad=True)
    y = quantize(x, 4, mode="ste", training=True)
    assert torch.equal(y.detach(), hard(x.detach(), 4))
    y.sum().backward()
    xs = x.detach().clone().requires_grad_(True)
    c = centres(4)
    (torch.softmax(-(xs[:, None] - c).abs(), -1) * c).sum().backward()
    assert torch.allclose(x.grad, xs.grad) and x.grad.abs().sum() > 0


def test_no_quantization_mode_is_identity_in_training_hard_at_inference():
    x = torch.randn(100)
    assert torch.equal(quantize(x, 4, mode="none", training=True), x)
    assert torch.equal(quantize(x, 4, mode="none", training=False), hard(x, 4))
    with pytest.raises(ValueError):
        quantize(x, 4, mode="soft")


# --- networks ----------------------------------------------------------------------------------------------


def test_width_scales_channels_and_latent_shape():
    assert channels(1.0) == (60, 120, 240, 480, 960)
    assert channels(0.125) == (8, 15, 30, 60, 120)
    enc = Encoder(TINY, 4)
    z = enc(torch.rand(1, 3, 64, 96) * 2 - 1)
    assert z.shape == (1, 4, 4, 6)
    assert isinstance(enc.net[-1], torch.nn.Conv2d)  # no ReLU/norm before the quantizer
    assert (z < 0).any()  # negative centres are reachable


# --- bitstream -------------------------------------------------------------------------------------------------


def test_decode_encode_equals_hard_forward_bit_exact(tiny_model, tiny_ckpt, street):
    _, mid = tiny_ckpt
    data = codec.encode(tiny_model, mid, street)
    out = codec.decode(tiny_model, mid, data)
    assert out.shape == street.shape and out.dtype == np.uint8
    assert np.array_equal(out, codec.forward_hard(tiny_model, street))


def test_norm_none_variant_roundtrip_and_checkpoint(tmp_path, street):
    torch.manual_seed(1)
    m = Autoencoder(TINY, 4, 8, norm="none").eval()
    mid = export_model(m, tmp_path / "nn.safetensors", {})
    lm = load_model(tmp_path / "nn.safetensors")
    assert lm.config["norm"] == "none" and not any(isinstance(x, torch.nn.InstanceNorm2d) for x in lm.model.modules())
    data = codec.encode(lm.model, mid, street)
    assert np.array_equal(codec.decode(lm.model, mid, data), codec.forward_hard(lm.model, street))


def test_header_and_bound(tiny_model, tiny_ckpt, photo):
    _, mid = tiny_ckpt
    data = codec.encode(tiny_model, mid, photo)  # 512×512: latent 32×32×8 symbols of 2 bits
    head = bitstream.read_header(data)
    assert (head.width, head.height, head.F, head.L) == (512, 512, 8, 4)
    assert head.model_id == bytes.fromhex(mid[:8])
    bound = 8 * math.log2(4) / 256
    assert 8 * len(data) / (512 * 512) <= bound


def test_symbols_roundtrip_any_distribution():
    rng = np.random.default_rng(1)
    for L, F in ((2, 2), (4, 8), (64, 16)):
        sym = np.minimum(rng.geometric(0.4, size=(F, 3, 5)) - 1, L - 1)
        sym[0] = 0  # a channel with a single symbol
        data = bitstream.write(sym, model_id=b"abcd", width=70, height=40, L=L)
        head, back = bitstream.read(data, model_id=b"abcd", F=F, L=L)
        assert np.array_equal(back, sym) and (head.width, head.height) == (70, 40)


def test_stream_from_another_model_is_rejected(tiny_model, tiny_ckpt, street):
    _, mid = tiny_ckpt
    data = codec.encode(tiny_model, mid, street)
    with pytest.raises(BitstreamError, match="made by model"):
        codec.decode(tiny_model, "ffffffff" + mid[8:], data)
    with pytest.raises(BitstreamError, match="F=8"):
        bitstream.read(data, F=4, L=4)


def _fix_crc(b: bytearray) -> bytearray:
    head_end = struct.calcsize("<2sB4sHHBBB")
    crc = zlib.crc32(bytes(b[head_end + 4 :]), zlib.crc32(bytes(b[:head_end])))
    b[head_end : head_end + 4] = struct.pack("<I", crc)
    return b


def test_fuzz_mutated_and_truncated_streams(tiny_model, tiny_ckpt):
    """400 seeded mutations (flips, truncations, insertions, header edits with and without a repaired CRC):
    each is rejected with BitstreamError or decodes to a valid image; nothing else is raised."""
    _, mid = tiny_ckpt
    img = np.ascontiguousarray(np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8))
    good = codec.encode(tiny_model, mid, img)
    rng = np.random.default_rng(2024)
    rejected = [0] * 5
    accepted = 0
    for trial in range(400):
        b = bytearray(good)
        kind = trial % 5
        if kind == 0:  # truncation
            b = b[: int(rng.integers(0, len(b)))]
        elif kind == 1:  # random byte flips
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(0, len(b)))
                b[i] ^= int(rng.integers(1, 256))
        elif kind == 2:  # insert / delete bytes
            i = int(rng.integers(0, len(b)))
            b = b[:i] + bytes(rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8)) + b[i:]
        else:  # header, table or payload edits with the CRC repaired, so deeper checks are exercised
            i = int(rng.integers(0, len(b))) if kind == 4 else int(rng.integers(0, 18 + 32))
            b[i] = int(rng.integers(0, 256))
            if kind == 3 and rng.random() < 0.5:
                b = b[: int(rng.integers(18, len(b)))]
            b = _fix_crc(b)
        try:
            out = codec.decode(tiny_model, mid, bytes(b))
        except BitstreamError:
            rejected[kind] += 1
            continue
        head = bitstream.read_header(bytes(b))
        assert out.dtype == np.uint8 and out.shape == (head.height, head.width, 3)
        accepted += 1
    assert rejected[:3] == [80, 80, 80]  # without a repaired CRC every mutation is caught
    assert sum(rejected[3:]) > 20 and accepted > 0  # deeper checks fire; some edits leave a valid stream


def test_oversized_header_rejected_before_allocating(tiny_model, tiny_ckpt):
    sym = np.zeros((8, 2, 2), dtype=np.int64)
    data = bytearray(bitstream.write(sym, model_id=b"abcd", width=20, height=20, L=4))
    data[7:11] = struct.pack("<HH", 65535, 65535)
    data[14] = 255  # F
    with pytest.raises(BitstreamError):
        bitstream.read(bytes(_fix_crc(data)))


# --- checkpoints -----------------------------------------------------------------------------------------------


def test_checkpoint_roundtrip_and_errors(tmp_path, tiny_ckpt, tiny_model, street):
    path, mid = tiny_ckpt
    lm = load_model(path)
    assert lm.model_id == mid and (lm.F, lm.L) == (8, 4)
    cfg = json.loads(path.with_suffix(".json").read_text())
    assert cfg["centres"] == pytest.approx([-2, -2 / 3, 2 / 3, 2]) and cfg["nominal_bpp"] == 0.0625
    # float16 shipping: the loaded model is what encodes and decodes, bit-exact with itself
    data = codec.encode(lm.model, mid, street)
    assert np.array_equal(codec.decode(lm.model, mid, data), codec.forward_hard(lm.model, street))
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(path.read_bytes())
    bad.with_suffix(".json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(bad)
    cfg["width"] = 0.25
    bad.with_suffix(".json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError):
        load_model(bad)


# --- training --------------------------------------------------------------------------------------------------


def _cfg(**kw):
    from codecbench.codecs.gan.train import TrainConfig

    base = dict(source="embedded", split=None, width=TINY, crop=32, batch=2, steps=4, gan_start=2, limit=3,
                val_count=1, val_every=2, ckpt_every=2, seed=3)
    return TrainConfig(**{**base, **kw})


def test_training_resume_is_exact_and_warm_start_skips_mismatch(tmp_path):
    from codecbench.codecs.gan.train import Trainer

    straight = Trainer(_cfg(), tmp_path / "a", log=lambda m: None)
    last = straight.run()
    assert last["val_bpp"] > 0 and last["bound_bpp"] == 0.0625 and np.isfinite(last["val_psnr"])
    Trainer(_cfg(steps=2), tmp_path / "b", log=lambda m: None).run()
    resumed = Trainer(_cfg(), tmp_path / "b", log=lambda m: None)
    assert resumed.step == 2
    resumed.run()
    for a, b in ((straight.ema, resumed.ema), (straight.disc, resumed.disc), (straight.model, resumed.model)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert list(tmp_path.glob("a/val_*.png"))
    msgs = []
    warm = Trainer(_cfg(F=4, init_from=str(tmp_path / "a")), tmp_path / "c", log=msgs.append)
    skipped = [m for m in msgs if "model" in m][0]
    assert "encoder.net.21.weight" in skipped and "generator.net.1.weight" in skipped
    assert torch.equal(warm.model.generator.net[5].body[1].weight, straight.model.generator.net[5].body[1].weight)
    mid = warm.export(tmp_path / "warm.safetensors")
    assert load_model(tmp_path / "warm.safetensors").model_id == mid


def test_gan_ramp_scales_the_adversarial_terms_from_the_first_gan_step(tmp_path):
    from codecbench.codecs.gan.losses import gan_ramp_weight
    from codecbench.codecs.gan.train import Trainer

    assert gan_ramp_weight(6000, 6000, 0) == 1.0
    assert [gan_ramp_weight(s, 6000, 4) for s in (6000, 6001, 6003, 6010)] == [0.25, 0.5, 1.0, 1.0]
    cfg = _cfg(gan_ramp=4, steps=4, gan_start=2)
    t = Trainer(cfg, tmp_path / "r", log=lambda m: None)
    t.train_step(), t.train_step()  # the MSE warm-up: no GAN terms, no ramp
    for want in (0.25, 0.5):
        out = t.train_step()
        assert out["ramp"] == want
        g = want * (out["adv"] + cfg.fm_weight * out["fm"]) + cfg.mse_weight * out["mse"]
        assert out["g"] == pytest.approx(g, rel=1e-5)
    plain = Trainer(_cfg(steps=4, gan_start=2), tmp_path / "p", log=lambda m: None)
    plain.train_step(), plain.train_step()
    out = plain.train_step()
    assert "ramp" not in out
    assert out["g"] == pytest.approx(out["adv"] + 10.0 * out["fm"] + 10.0 * out["mse"], rel=1e-5)


# --- plugin ----------------------------------------------------------------------------------------------------


def test_plugin_encode_decode_and_details(tiny_ckpt, street):
    from codecbench.codecs.gan.spec import GAN

    path, mid = tiny_ckpt
    c = GAN.bind(checkpoint=str(path), device="cpu")
    data = c.encode(street)
    out = c.decode(data)
    assert out.shape == street.shape
    d = c.describe()["details"]
    assert d["model_id"] == mid and d["F"] == 8 and d["L"] == 4 and d["nominal_bpp"] == 0.0625
    assert d["width"] == TINY
    with pytest.raises(CodecError):
        c.decode(data[:-3])


def test_plugin_explains_missing_checkpoint(tmp_path):
    from codecbench.codecs.gan.spec import GAN

    with pytest.raises(CodecUnavailable, match="not found"):
        GAN.bind(checkpoint=str(tmp_path / "missing.safetensors"))


@pytest.mark.parametrize("name", shipped_names())
def test_shipped_checkpoint_real_bpp_below_bound(name, photo):
    from codecbench.codecs.gan.spec import GAN

    c = GAN.bind(checkpoint=name, device="cpu")
    lm = c.runtime["loaded"]
    data = c.encode(photo)
    bound = lm.F * math.log2(lm.L) / 256
    assert 8 * len(data) / (512 * 512) <= bound
    out = c.decode(data)
    assert np.array_equal(out, codec.forward_hard(lm.model, photo))
    mse = np.mean((out.astype(float) - photo) ** 2)
    # trained weights; an untrained model gives about 8 dB. A checkpoint trained without quantization (the
    # ablation, quantized only here at inference) loses more: the main-budget gan_f8_l4_noquant gives 11.7 dB
    floor = 12 if lm.config.get("quant_mode") != "none" else 10
    assert 10 * math.log10(255**2 / mse) > floor


def test_without_quantization_in_training_L_plays_no_part(tmp_path):
    """quant_mode "none" trains through the identity, so two runs that differ only in L train the same weights
    (L matters only at inference); with STE quantization they differ. This is why gan_f8_l2_noquant and
    gan_f8_l4_noquant of the sweep are one training run quantized two ways."""
    from codecbench.codecs.gan.train import Trainer

    def weights(L, mode):
        t = Trainer(_cfg(L=L, quant_mode=mode, steps=3, gan_start=2), tmp_path / f"{mode}{L}", log=lambda m: None)
        for _ in range(3):
            t.train_step()
        return t.model.state_dict()

    a, b = weights(2, "none"), weights(4, "none")
    assert all(torch.equal(a[k], b[k]) for k in a)
    c, d = weights(2, "ste"), weights(4, "ste")
    assert not all(torch.equal(c[k], d[k]) for k in c)
