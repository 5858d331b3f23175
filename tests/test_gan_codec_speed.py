"""bench/gan_codec_speed.py's bf16 path on the CPU (the figures for a GPU come from a lent device): bf16 autocast
codes through the real bitstream, changes few latent symbols, and its reconstruction stays close to fp32's. No
timing is asserted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from codecbench.codecs.gan import codec
from codecbench.codecs.gan.checkpoint import load_model


def _bench():
    path = Path(__file__).resolve().parents[1] / "bench" / "gan_codec_speed.py"
    spec = importlib.util.spec_from_file_location("gan_codec_speed", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bf16_against_fp32_on_two_small_frames():
    b = _bench()
    frames = b._frames((64, 96), 2)
    res = b.compare("gan_f8_l4", frames, "cpu")
    assert res["frames"] == 2 and res["size"] == [64, 96]
    lm = load_model("gan_f8_l4")
    ref = [codec.decode(lm.model, lm.model_id, codec.encode(lm.model, lm.model_id, f)) for f in frames]
    ref_psnr = float(np.mean([b._psnr(f, r) for f, r in zip(frames, ref)]))
    assert abs(res["fp32"]["psnr_db"] - ref_psnr) < 1e-9  # fp32 is the codec's own path
    assert res["bf16_symbols_changed"] < 0.05
    assert res["bf16_vs_fp32_psnr_db"] > 25.0
    assert res["fp32"]["fps"] > 0 and res["bf16"]["fps"] > 0
