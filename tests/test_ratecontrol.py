"""Rate control: exact answers against brute force on known rate curves, the encode budget,
unreachable targets, fixed-rate and one-shot (is_bpp) codecs, and real JPEG/JPEG XL.

The curve codecs below are TEST DOUBLES: their "bitstream" is filler bytes whose length follows a
known monotone rate curve, so the best knob can be found by brute force and compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codecbench.codecs import registry
from codecbench.codecs.ratecontrol import FLOAT_TOLERANCE, match_bpp
from codecbench.codecs.spec import CodecSpec, Knob

H, W = 64, 96
IMAGE = np.zeros((H, W, 3), np.uint8)


def curve_codec(rate, knob: Knob, calls: list):
    """Test double: encode(knob) -> filler bytes of length round(rate(knob)·H·W/8)."""

    def encode(_image, k, _s):
        calls.append(k)
        return b"\0" * max(1, int(round(rate(k) * H * W / 8)))

    spec = CodecSpec(name="curve-double", summary="test double", library="none", version=lambda: "0",
                     knob=knob, encode=encode, decode=lambda d, s: IMAGE)
    return spec.bind()


def true_bpp(rate, k):
    return 8 * max(1, int(round(rate(k) * H * W / 8))) / (H * W)


def brute_force(rate, knob, target, mode):
    values = range(int(knob.low), int(knob.high) + 1)
    bpps = {k: true_bpp(rate, k) for k in values}
    if mode == "nearest":
        return min(bpps.values(), key=lambda b: (abs(b - target), b))
    below = [b for b in bpps.values() if b <= target]
    return max(below) if below else None


curves = st.tuples(
    st.floats(0.02, 0.3),  # rate at the lowest setting
    st.floats(1.0, 4.0),  # rate at the highest setting
    st.floats(0.5, 2.5),  # curvature exponent
)


def power_curve(curve, increasing: bool):
    """A monotone rate curve over an integer knob (0..100 rising in rate, or 0..51 falling like a qp): the rate at
    knob k, and the knob."""
    r_min, r_max, p = curve
    lo, hi = (0, 100) if increasing else (0, 51)

    def rate(k):
        x = (k - lo) / (hi - lo) if increasing else (hi - k) / (hi - lo)
        return r_min * (r_max / r_min) ** (x**p)

    return rate, Knob("k", lo, hi, integer=True, increases_rate=increasing)


@settings(max_examples=60, deadline=None)
@given(curves, st.floats(0.05, 3.0), st.booleans(), st.sampled_from(["below", "nearest"]))
def test_integer_knob_matches_brute_force(curve, target, increasing, mode):
    rate, knob = power_curve(curve, increasing)
    lo, hi = knob.low, knob.high
    calls: list = []
    res = match_bpp(curve_codec(rate, knob, calls), IMAGE, target, mode=mode)
    assert len(calls) == len(set(calls)) == res.encodes  # never the same setting twice
    assert res.encodes <= 12
    assert res.bpp == pytest.approx(true_bpp(rate, res.knob))
    expected = brute_force(rate, knob, target, mode)
    lowest = true_bpp(rate, lo if increasing else hi)
    if lowest > target:
        assert not res.reachable and res.min_bpp == pytest.approx(lowest)
        assert res.bpp == pytest.approx(lowest)
    else:
        assert res.reachable
        assert res.bpp == pytest.approx(expected)
        if mode == "below":
            assert res.bpp <= target


@settings(max_examples=40, deadline=None)
@given(curves, st.floats(0.3, 0.9))
def test_float_knob_stops_within_tolerance(curve, frac):
    r_min, r_max, p = curve
    target = r_min + frac * (r_max - r_min)

    def rate(k):
        return r_min * (r_max / r_min) ** ((k / 100.0) ** p)

    knob = Knob("quality", 0.0, 100.0, integer=False, increases_rate=True)
    calls: list = []
    res = match_bpp(curve_codec(rate, knob, calls), IMAGE, target)
    assert res.reachable and len(calls) == len(set(calls))
    assert (1 - FLOAT_TOLERANCE) * target - 8 / (H * W) <= res.bpp <= target
    assert res.encodes <= 15


def test_unreachable_reports_lowest_setting():
    calls: list = []
    knob = Knob("quality", 1, 100)
    res = match_bpp(curve_codec(lambda k: 0.1 + 0.01 * k, knob, calls), IMAGE, 0.03)
    assert not res.reachable and res.knob == 1
    assert res.min_bpp == pytest.approx(true_bpp(lambda k: 0.1 + 0.01 * k, 1)) == pytest.approx(res.bpp)


def test_target_above_reach_takes_highest_setting():
    calls: list = []
    res = match_bpp(curve_codec(lambda k: 0.01 * k, Knob("q", 1, 100), calls), IMAGE, 50.0)
    assert res.reachable and res.knob == 100


def test_fixed_rate_codec_encodes_once():
    calls: list = []
    spec = CodecSpec(name="fixed-double", summary="test double", library="none", version=lambda: "0", knob=None,
                     encode=lambda im, k, s: calls.append(k) or b"\0" * 100, decode=lambda d, s: IMAGE)
    res = match_bpp(spec.bind(), IMAGE, None)
    assert res.encodes == 1 and res.knob is None and res.reachable and calls == [None]
    res = match_bpp(spec.bind(), IMAGE, 0.01)
    assert not res.reachable and res.min_bpp == pytest.approx(800 / (H * W))


def test_bad_arguments():
    codec = registry.create("jpeg")
    with pytest.raises(ValueError, match="mode"):
        match_bpp(codec, IMAGE, 0.5, mode="above")
    with pytest.raises(ValueError, match="target"):
        match_bpp(codec, IMAGE, -1.0)
    with pytest.raises(ValueError, match="target"):
        match_bpp(codec, IMAGE, None)


def test_real_jpeg_below_and_nearest(photo):
    codec = registry.create("jpeg")
    h, w = photo.shape[:2]
    r = match_bpp(codec, photo, 0.5)
    assert r.reachable and r.bpp <= 0.5 and r.encodes <= 8
    above = 8 * len(codec.encode(photo, r.knob + 1)) / (h * w)
    assert above > 0.5  # the next quality step would exceed the target
    n = match_bpp(codec, photo, 0.5, mode="nearest")
    assert abs(n.bpp - 0.5) <= abs(r.bpp - 0.5) and n.knob in (r.knob, r.knob + 1)


def test_real_jpeg_unreachable(photo):
    codec = registry.create("jpeg")
    r = match_bpp(codec, photo, 0.03)
    assert not r.reachable and r.knob == 1
    assert r.min_bpp == pytest.approx(8 * len(codec.encode(photo, 1)) / photo.shape[0] / photo.shape[1])
    assert r.min_bpp > 0.03  # not silently replaced by the target


def test_real_jpegxl_float_knob(photo):
    codec = registry.create("jpegxl")
    r = match_bpp(codec, photo, 0.6)
    assert r.reachable and 0.95 * 0.6 <= r.bpp <= 0.6 and isinstance(r.knob, float)
    assert math.isclose(r.bpp, 8 * len(r.data) / (photo.shape[0] * photo.shape[1]))
