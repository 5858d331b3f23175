"""The ``sr`` wrapper codec: header fuzzing, bpp over the original pixels, round trips around every registered
codec, adaptive mode, settings validation, suite composability, and the shipped learned upscalers."""

from __future__ import annotations

import shutil
import struct
import zlib

import numpy as np
import pytest
from standins.launchers import bpg_standin_launchers

from codecbench.codecs import registry, sr_header, upscalers
from codecbench.codecs.ratecontrol import match_bpp
from codecbench.codecs.spec import CodecError, CodecUnavailable, bpp_of


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def crop(photo):
    """A 120×160 crop of the astronaut photo (small: every test stays fast)."""
    return np.ascontiguousarray(photo[40:160, 150:310])


def _fix_crc(b: bytearray) -> bytearray:
    n = sr_header._HEAD.size
    if len(b) >= sr_header.HEADER_BYTES:
        b[n:n + 4] = struct.pack("<I", zlib.crc32(bytes(b[n + 4:]), zlib.crc32(bytes(b[:n]))))
    return b


# --- header ----------------------------------------------------------------------------------------------------


def test_header_layout_and_bpp_counts_every_byte(crop):
    codec = registry.create("sr", inner="jpeg", scale=0.5)
    data = codec.encode(crop, 40)
    inner = registry.create("jpeg").encode(upscalers.resize(crop, (60, 80), "lanczos"), 40)
    assert data[sr_header.HEADER_BYTES:] == inner  # the inner codec's complete stream follows the header
    assert len(data) == sr_header.HEADER_BYTES + len(inner) and sr_header.HEADER_BYTES == 15
    head, payload = sr_header.read(data)
    assert (head.width, head.height, head.scale_permille, head.upscaler_id) == (160, 120, 500, 0)
    rr = match_bpp(codec, crop, 0.5)
    assert rr.bpp == pytest.approx(8 * len(rr.data) / (120 * 160))  # over the ORIGINAL pixels, header included
    assert rr.bpp <= 0.5
    out = codec.decode(data)
    assert out.shape == crop.shape and out.dtype == np.uint8 and psnr(crop, out) > 20


def test_is_bpp_inner_gets_the_budget_minus_the_header(crop):
    """JPEG 2000's knob is bpp: through the wrapper it is bpp over the original, header bytes included."""
    codec = registry.create("sr", inner="jpeg2000", scale=0.5)
    assert codec.knob == registry.create("jpeg2000").knob
    for target in (0.1, 0.25, 1.0):
        data = codec.encode(crop, target)
        assert len(data) <= np.floor(target * 120 * 160 / 8)
        assert bpp_of(data, 120, 160) > 0.8 * target  # the budget is used, not wasted
        assert codec.decode(data).shape == crop.shape


def test_fuzz_truncated_and_corrupted_streams(crop):
    """400 seeded mutations: without a repaired CRC every one is a clean SRBitstreamError; with it, header and
    payload edits are either rejected with a CodecError or decode to an image of the header's size."""
    codec = registry.create("sr", inner="jpeg", scale=0.5)
    good = codec.encode(crop, 30)
    rng = np.random.default_rng(16)
    rejected, accepted = [0] * 5, 0
    for trial in range(400):
        b = bytearray(good)
        kind = trial % 5
        if kind == 0:
            b = b[: int(rng.integers(0, len(b)))]
        elif kind == 1:
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(0, len(b)))
                b[i] ^= int(rng.integers(1, 256))
        elif kind == 2:
            i = int(rng.integers(0, len(b)))
            b = b[:i] + bytes(rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8)) + b[i:]
        else:  # kind 3: header fields, kind 4: anywhere; CRC repaired so that the deeper checks run
            i = int(rng.integers(0, sr_header._HEAD.size)) if kind == 3 else int(rng.integers(0, len(b)))
            b[i] = int(rng.integers(0, 256))
            b = _fix_crc(b)
        try:
            out = codec.decode(bytes(b))
        except sr_header.SRBitstreamError:
            rejected[kind] += 1
            continue
        except CodecError:  # the inner decoder refused a payload that passed the CRC (kind 4 only)
            assert kind == 4
            rejected[kind] += 1
            continue
        head, _ = sr_header.read(bytes(b))
        assert out.dtype == np.uint8 and out.shape == (head.height, head.width, 3)
        accepted += 1
    assert rejected[:3] == [80, 80, 80]
    assert rejected[3] > 20 and accepted > 0


@pytest.mark.parametrize("data", [b"", b"SR", b"XX" + bytes(20), None, "text"])
def test_garbage_is_a_clean_error(data):
    codec = registry.create("sr", inner="jpeg")
    with pytest.raises(CodecError):
        codec.decode(data)


def test_header_without_inner_stream_and_bad_version():
    head = sr_header.Header(10, 10, 500, 0)
    b = bytearray(sr_header.write(head, b"x"))
    with pytest.raises(sr_header.SRBitstreamError, match="no inner stream"):
        sr_header.read(bytes(_fix_crc(b[:-1])))
    b[2] = 9
    with pytest.raises(sr_header.SRBitstreamError, match="version 9"):
        sr_header.read(bytes(_fix_crc(b)))


# --- round trips around every registered codec -----------------------------------------------------------------


@pytest.fixture(scope="module")
def bpg_env(tmp_path_factory):
    """Real bpgenc/bpgdec when on PATH, else the stand-in launchers (test doubles, JPEG inside)."""
    if shutil.which("bpgenc") and shutil.which("bpgdec"):
        yield
        return
    enc, dec = bpg_standin_launchers(tmp_path_factory.mktemp("bpg"))
    mp = pytest.MonkeyPatch()
    mp.setenv("CODECBENCH_BPGENC", str(enc))
    mp.setenv("CODECBENCH_BPGDEC", str(dec))
    yield
    mp.undo()


def _mid_knob(knob):
    if knob is None:
        return None
    if knob.is_bpp:
        return 1.0
    return knob.clip(knob.low + (0.6 if knob.increases_rate else 0.4) * (knob.high - knob.low))


@pytest.mark.parametrize("inner", sorted(n for n in registry.specs() if n != "sr"))
def test_roundtrip_around_every_registered_codec(inner, bpg_env, crop):
    spec = registry.get(inner)
    reason = spec.unavailable(dict(spec.defaults))
    if reason:
        pytest.skip(f"inner codec {inner} unavailable here: {reason}")
    settings = {"device": "cpu"} if "device" in spec.defaults else {}
    codec = registry.create("sr", inner=inner, inner_settings=settings, scale=0.5)
    assert codec.knob == spec.knob
    side = codec.spec.min_side  # BPG needs 64 px per side: its wrapper at ×0.5 needs 128
    img = crop if min(crop.shape[:2]) >= side else np.pad(crop, ((0, side - crop.shape[0]), (0, 0), (0, 0)),
                                                            mode="reflect")
    h, w = img.shape[:2]
    data = codec.encode(img, _mid_knob(codec.knob))
    out = codec.decode(data)
    assert out.shape == img.shape and out.dtype == np.uint8
    head, payload = sr_header.read(data)
    small = codec.runtime["inner_codec"].decode(payload)  # the inner codec's own stream, decoded by itself
    assert small.shape == (h // 2, w // 2, 3) and np.array_equal(out, upscalers.resize(small, (h, w), "bicubic"))
    crop = img
    floor = 12 if inner in ("gan", "cae") else 20  # learned codecs at their low rates on a 60×80 image
    assert psnr(crop, out) > floor, f"sr around {inner}: {psnr(crop, out):.1f} dB"
    assert inner in codec.version() and spec.version() in codec.version()


# --- adaptive mode, settings, keys -----------------------------------------------------------------------------


def test_adaptive_mode_stores_its_choice(crop):
    for threshold, scale, up in ((0.0, 500, "bicubic"), (99.0, 700, "lanczos")):
        codec = registry.create("sr", inner="jpeg", adaptive=True, adaptive_up="bicubic", threshold_db=threshold)
        data = codec.encode(crop, 50)
        head, _ = sr_header.read(data)
        assert head.adaptive and head.scale_permille == scale and head.upscaler_id == upscalers.UPSCALER_IDS[up]
        assert codec.decode(data).shape == crop.shape


def test_adaptive_rule_follows_the_sr_only_psnr(crop):
    from codecbench.codecs.sr import sr_only_psnr

    p = sr_only_psnr(crop, 0.5, "lanczos", "bicubic")
    assert 15 < p < 60
    above = registry.create("sr", inner="jpeg", adaptive=True, adaptive_up="bicubic", threshold_db=p - 0.01)
    below = registry.create("sr", inner="jpeg", adaptive=True, adaptive_up="bicubic", threshold_db=p + 0.01)
    assert sr_header.read(above.encode(crop, 50))[0].scale_permille == 500
    assert sr_header.read(below.encode(crop, 50))[0].scale_permille == 700


@pytest.mark.parametrize("settings, error", [
    ({"inner": "sr"}, ValueError), ({"scale": 0.0}, ValueError), ({"scale": 2}, ValueError),
    ({"down": "nearest"}, ValueError), ({"up": "magic"}, ValueError), ({"adaptive": "yes"}, ValueError),
    ({"inner_settings": {"qualityy": 3}}, ValueError), ({"inner": "no-such-codec"}, CodecUnavailable),
    ({"colour": 1}, ValueError),
])
def test_bad_settings_are_clear_errors(settings, error):
    with pytest.raises(error):
        registry.create("sr", **settings)


def test_key_and_version_include_the_inner_codec():
    from codecbench.run.point_keys import codec_key_of

    a = registry.create("sr", inner="webp", inner_settings={"method": 6})
    b = registry.create("sr", inner="webp", inner_settings={"method": 4})
    c = registry.create("sr", inner="jpeg")
    assert registry.create("webp").version() in a.version()
    keys = {codec_key_of(x.describe()) for x in (a, b, c)}
    assert len(keys) == 3
    assert a.describe()["details"]["inner"]["settings"] == {"method": 6}


def test_suite_entry_and_frozen_settings_bind_the_same_codec(tmp_path, crop):
    """`settings = { inner = ..., inner_settings = {...} }` in a suite; the runner's frozen copy binds alike."""
    from codecbench.run.frozen_settings import freeze
    from codecbench.run.suite import load_suite
    from codecbench.run.worker_cache import bound_codec

    toml = tmp_path / "s.toml"
    toml.write_text('[suite]\ntargets = [0.25]\n[[datasets]]\nname = "embedded"\n[[codecs]]\nname = "sr"\n'
                    'settings = { inner = "webp", scale = 0.5, up = "lanczos", inner_settings = { method = 4 } }\n')
    entry = load_suite(toml).codecs[0]
    direct = registry.create(entry.name, **entry.settings)
    frozen = bound_codec(entry.name, freeze(entry.settings))
    assert frozen.runtime["inner_codec"].settings == {"method": 4}
    assert direct.encode(crop, 30) == frozen.encode(crop, 30)


# --- learned upscalers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", upscalers.LEARNED)
def test_learned_upscaler_loads_and_runs(name, crop):
    path = upscalers.checkpoint_path(name)
    assert path.stat().st_size < 2 * 1024 * 1024
    model, config = upscalers.load(name)
    assert config["architecture"] == name and config["training"]["steps"] > 0
    assert config["validation_curve"] and config["training"]["hardware"]["cpu_count"]
    assert not any("kodak" in s.lower() for s in config["training"]["data"]["train_images"])
    small = upscalers.resize(crop, (60, 80), "lanczos")
    out = upscalers.upscale(small, (120, 160), name)
    bicubic = upscalers.resize(small, (120, 160), "bicubic")
    assert out.shape == crop.shape and out.dtype == np.uint8 and not np.array_equal(out, bicubic)
    assert psnr(crop, out) > psnr(crop, bicubic) - 1.0  # a refinement of the bicubic image, not noise
    codec = registry.create("sr", inner="jpeg", up=name)
    assert f"{name}:{config['weights_id']}" in codec.version()
    assert codec.decode(codec.encode(crop, 50)).shape == crop.shape


@pytest.mark.parametrize("suite_name", ["kodak", "automotive-camvid"])
def test_shipped_suites_carry_sr_entries_that_bind(suite_name):
    from codecbench.run.suite import load_suite

    entries = [c for c in load_suite(suite_name).codecs if c.name == "sr"]
    assert len(entries) >= 3
    for e in entries:
        codec = registry.create(e.name, **e.settings)
        assert codec.runtime["inner_codec"].name == e.settings["inner"] and codec.knob is not None
