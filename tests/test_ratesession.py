"""Rate control shared across the targets of one image (RateSession / match_bpp_targets): the same answers as
independent searches for integer knobs, never the same setting encoded twice, fewer encodes in all.

The curve codecs are TEST DOUBLES (filler bytes following a known monotone rate curve), from test_ratecontrol.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ratecontrol import IMAGE, H, W, brute_force, curve_codec, curves, power_curve, true_bpp  # noqa: E402

from codecbench.codecs import registry
from codecbench.codecs.ratecontrol import FLOAT_TOLERANCE, RateSession, fewest_encodes, match_bpp, match_bpp_targets
from codecbench.codecs.spec import CodecSpec, Knob

TARGETS = (0.0625, 0.125, 0.25, 0.5, 1.0)


@settings(max_examples=50, deadline=None)
@given(curves, st.lists(st.floats(0.05, 3.0), min_size=2, max_size=6, unique=True), st.booleans(),
       st.sampled_from(["below", "nearest"]))
def test_shared_search_matches_brute_force(curve, targets, increasing, mode):
    rate, knob = power_curve(curve, increasing)
    lo, hi = knob.low, knob.high
    calls: list = []
    results = match_bpp_targets(curve_codec(rate, knob, calls), IMAGE, targets, mode=mode)
    assert len(calls) == len(set(calls)) == sum(r.encodes for r in results)  # no setting twice for the image
    assert [r.target_bpp for r in results] == targets  # in the order asked
    lowest = true_bpp(rate, lo if increasing else hi)
    for target, res in zip(targets, results):
        assert res.bpp == pytest.approx(true_bpp(rate, res.knob))
        assert res.encodes == len(res.trials)
        if lowest > target:
            assert not res.reachable and res.min_bpp == pytest.approx(lowest)
        else:
            assert res.reachable and res.bpp == pytest.approx(brute_force(rate, knob, target, mode))
            if mode == "below":
                assert res.bpp <= target


@settings(max_examples=20, deadline=None)
@given(curves, st.lists(st.floats(0.3, 0.9), min_size=2, max_size=4, unique=True))
def test_float_knob_targets_are_searched_alone(curve, fracs):
    """A float knob's answer depends on where its search starts: each target searched afresh, so the answers and
    the trials of match_bpp; the session only spares re-encoding a setting another target's search encoded."""
    r_min, r_max, p = curve
    targets = [r_min + f * (r_max - r_min) for f in fracs]

    def rate(k):
        return r_min * (r_max / r_min) ** ((k / 100.0) ** p)

    knob = Knob("quality", 0.0, 100.0, integer=False, increases_rate=True)
    calls: list = []
    shared = match_bpp_targets(curve_codec(rate, knob, calls), IMAGE, targets)
    alone = [match_bpp(curve_codec(rate, knob, []), IMAGE, t) for t in targets]
    assert [(r.knob, r.bpp, r.data, r.trials) for r in shared] == [(r.knob, r.bpp, r.data, r.trials) for r in alone]
    assert len(calls) == len(set(calls)) == sum(r.encodes for r in shared)  # no setting encoded twice
    assert sum(r.encodes for r in shared) <= sum(r.encodes for r in alone) - (len(targets) - 1)  # the first probe
    for target, res in zip(targets, shared):
        assert res.reachable and (1 - FLOAT_TOLERANCE) * target - 8 / (H * W) <= res.bpp <= target


@pytest.mark.parametrize("name", ["webp", "jpegxl"])
def test_real_float_knob_codec_same_streams_fewer_encodes(photo, name):
    codec = registry.create(name)
    targets = (0.03125, 0.0625, 0.125, 0.25, 0.5)  # the study's: the lowest are unreachable on some photos
    alone = [match_bpp(codec, photo, t) for t in targets]
    shared = match_bpp_targets(codec, photo, targets)
    assert [(r.knob, r.data, r.trials, r.reachable) for r in shared] == [
        (r.knob, r.data, r.trials, r.reachable) for r in alone]
    assert sum(r.encodes for r in shared) < sum(r.encodes for r in alone)


def test_one_shot_and_fixed_rate_codecs_are_not_shared():
    calls: list = []
    spec = CodecSpec(name="fixed-double", summary="test double", library="none", version=lambda: "0", knob=None,
                     encode=lambda im, k, s: calls.append(k) or b"\0" * 100, decode=lambda d, s: IMAGE)
    session = RateSession(spec.bind(), IMAGE)
    assert session.match(None).encodes == 1 and session.match(0.01).encodes == 1 and len(calls) == 2
    with pytest.raises(ValueError, match="mode"):
        RateSession(spec.bind(), IMAGE, mode="above")


def test_real_jpeg_same_knobs_fewer_encodes(photo):
    codec = registry.create("jpeg")
    alone = [match_bpp(codec, photo, t) for t in TARGETS]
    shared = match_bpp_targets(codec, photo, TARGETS)
    assert [r.knob for r in shared] == [r.knob for r in alone]
    assert [r.data for r in shared] == [r.data for r in alone]
    assert sum(r.encodes for r in shared) < sum(r.encodes for r in alone)
    assert sum(r.encodes for r in shared) <= 2.5 * len(TARGETS)


def test_session_reuses_what_an_earlier_target_found(photo):
    codec = registry.create("jpeg")
    session = RateSession(codec, photo)
    first = session.match(0.5)
    again = session.match(0.5)  # the cache already brackets it: nothing new to encode
    assert again.encodes == 0 and again.trials == [] and again.knob == first.knob and again.data == first.data


def test_fewest_encodes_by_hand():
    up = Knob("quality", 0, 10, integer=True, increases_rate=True)
    assert fewest_encodes(up, [(3, True), (4, True)]) == 3  # {3, 4, 5}: 4 shows 3 is the last under, 5 shows 4 is
    assert fewest_encodes(up, [(10, True)]) == 1  # the top needs no proof
    assert fewest_encodes(up, [(0, False), (0, False), (2, True)]) == 3  # {0, 2, 3}
    qp = Knob("qp", 0, 51, integer=True, increases_rate=False)
    assert fewest_encodes(qp, [(43, True), (42, True)]) == 3  # {43, 42, 41}: a lower qp is the higher rate
    lv = Knob("quality", 0, 100, integer=True, levels=(0, 10, 20, 30))
    assert fewest_encodes(lv, [(15, True)]) == 2  # levels 10 and 20
    assert fewest_encodes(Knob("q", 0.0, 100.0, integer=False), [(3.5, True), (7.0, True)]) == 2
    assert fewest_encodes(Knob("q", 0.0, 100.0, integer=False), [(0.0, False), (0.0, False), (7.0, True)]) == 2
    assert fewest_encodes(None, [(None, True)]) == 1


@settings(max_examples=40, deadline=None)
@given(curves, st.lists(st.floats(0.05, 3.0), min_size=1, max_size=6, unique=True), st.booleans())
def test_fewest_encodes_bounds_the_real_search(curve, targets, increasing):
    """The shared search never spends fewer encodes than the bound, and it encoded every setting the bound
    names (so the bound is attainable: it is the search's own proof, without the probes that found it)."""
    rate, knob = power_curve(curve, increasing)
    calls: list = []
    results = match_bpp_targets(curve_codec(rate, knob, calls), IMAGE, targets, mode="below")
    least = fewest_encodes(knob, [(r.knob, r.reachable) for r in results])
    assert 1 <= least <= len(set(calls)) == sum(r.encodes for r in results)
