"""Conformance of EVERY registered codec (built-ins and plugins, read from the registry: no list to edit).

Probe values come from each codec's Knob, both ends of its range included. For each codec: the round trip keeps
shape and dtype (RGB uint8 H×W×3), rate control's bpp is 8·len(bytes)/(H·W) of the bytes it returns, encoding
and decoding are deterministic, and the rate is monotone in the knob (in the knob's declared direction).
A codec that cannot run here (a missing binary such as bpgenc) is skipped with its reason; a fixed-rate codec
(no knob) is skipped for monotonicity only.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codecbench.codecs import registry
from codecbench.codecs.ratecontrol import match_bpp
from codecbench.codecs.spec import Codec, Knob

torch.set_num_threads(1)
PROBES = 5  # knob values: low, three between, high


def _names() -> list[str]:
    return list(registry.specs())


def probe_values(knob: Knob) -> list[float | int]:
    """PROBES values over the knob's range, both ends included, as the knob accepts them."""
    values = [knob.low + (knob.high - knob.low) * i / (PROBES - 1) for i in range(PROBES)]
    return list(dict.fromkeys(knob.clip(v) for v in values))


@pytest.fixture(scope="module")
def image():
    """A real photo crop whose sides are not multiples of 8 or 16 (72×90)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[120:192, 180:270])


def _bind(name: str) -> Codec:
    spec = registry.get(name)
    reason = spec.unavailable(dict(spec.defaults))
    if reason:
        pytest.skip(f"{name} cannot run here: {reason}")
    codec = spec.bind()
    return codec


@pytest.fixture(scope="module")
def encoded(image):
    """name -> (codec, [(knob value, bytes)]) encoded once per codec for the tests below."""
    cache: dict[str, tuple[Codec, list[tuple[float | int | None, bytes]]]] = {}

    def get(name: str):
        if name not in cache:
            codec = _bind(name)
            values = probe_values(codec.knob) if codec.knob else [None]
            cache[name] = (codec, [(v, codec.encode(image, v)) for v in values])
        return cache[name]

    return get


@pytest.mark.parametrize("name", _names())
def test_round_trip_keeps_shape_and_dtype(name, image, encoded):
    codec, streams = encoded(name)
    for value, data in streams:
        assert isinstance(data, bytes) and len(data) > 0, f"{name} at {value}: empty stream"
        out = codec.decode(data)
        assert out.dtype == np.uint8 and out.shape == image.shape, f"{name} at {value}: {out.dtype} {out.shape}"


@pytest.mark.parametrize("name", _names())
def test_encode_and_decode_are_deterministic(name, image, encoded):
    codec, streams = encoded(name)
    for value, data in (streams[0], streams[-1]):  # both ends of the knob range
        assert codec.encode(image, value) == data, f"{name} at {value}: two encodes differ"
        assert np.array_equal(codec.decode(data), codec.decode(data)), f"{name} at {value}: two decodes differ"


@pytest.mark.parametrize("name", _names())
def test_rate_control_bpp_is_eight_bits_per_byte_over_the_pixels(name, image, encoded):
    codec, streams = encoded(name)
    h, w = image.shape[:2]
    mid = 8.0 * len(streams[len(streams) // 2][1]) / (h * w)  # a rate the codec can reach
    rr = match_bpp(codec, image, None if codec.knob is None else mid)
    assert rr.bpp == 8.0 * len(rr.data) / (h * w)
    assert rr.data == codec.encode(image, rr.knob)  # the bytes are those of the chosen knob value


@pytest.mark.parametrize("name", _names())
def test_rate_is_monotone_in_the_knob(name, image, encoded):
    codec, streams = encoded(name)
    if codec.knob is None:
        pytest.skip(f"{name} is fixed-rate (no knob)")
    sizes = [len(data) for _, data in streams]
    if not codec.knob.increases_rate:
        sizes = sizes[::-1]
    assert sizes == sorted(sizes), f"{name}: sizes {sizes} at {[v for v, _ in streams]} are not monotone"
    assert sizes[0] < sizes[-1], f"{name}: the knob range does not change the rate ({sizes})"


def test_every_registered_codec_is_covered():
    """The parametrisation is the registry itself: a plugin's codec is tested without editing this file."""
    assert set(_names()) == set(registry.specs()) and {"jpeg", "gan"} <= set(_names())
