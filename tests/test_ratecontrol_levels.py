"""Knob levels (AVIF's and HEIC's quality classes): every quality of a class gives the same stream, on Kodak and
CamVid crops, so rate control may search the levels only; and the search over levels picks the same stream as a
search over every quality."""

from __future__ import annotations

import numpy as np
import pytest

from codecbench.codecs import registry
from codecbench.codecs.ratecontrol import match_bpp, match_bpp_targets
from codecbench.codecs.spec import Codec


def _crops(kodak_dir, camvid_dir) -> list[np.ndarray]:
    from codecbench.imageio import load_rgb

    frames = sorted((camvid_dir / "test").glob("*.png"))[:1]
    imgs = [load_rgb(kodak_dir / "kodim05.png"), load_rgb(kodak_dir / "kodim21.png"), load_rgb(frames[0])]
    return [np.ascontiguousarray(im[100:196, 100:228]) for im in imgs]


def _bind(name: str) -> Codec:
    spec = registry.get(name)
    reason = spec.unavailable(dict(spec.defaults))
    if reason:
        pytest.skip(f"{name} cannot run here: {reason}")
    return spec.bind()


@pytest.mark.parametrize("name", ["avif", "heic"])
def test_every_quality_of_a_level_gives_the_same_stream(name, kodak_dir, camvid_dir):
    codec = _bind(name)
    knob = codec.knob
    assert knob is not None and knob.levels and knob.levels[0] == knob.low
    bounds = [*knob.levels, int(knob.high) + 1]
    for img in _crops(kodak_dir, camvid_dir):
        streams = {q: codec.encode(img, q) for q in range(int(knob.low), int(knob.high) + 1)}
        for lo, hi in zip(bounds, bounds[1:]):
            assert all(streams[q] == streams[lo] for q in range(lo, hi)), (name, lo, hi)
        distinct = sum(streams[a] != streams[b] for a, b in zip(knob.levels, knob.levels[1:]))
        assert distinct >= 0.8 * len(knob.levels)  # levels are distinct settings (small crops may tie a few)


@pytest.mark.parametrize("name", ["avif", "heic"])
def test_search_over_levels_picks_the_stream_of_a_search_over_every_quality(name, kodak_dir, camvid_dir):
    import dataclasses

    codec = _bind(name)
    plain = Codec(dataclasses.replace(codec.spec, knob=dataclasses.replace(codec.knob, levels=None)),
                  codec.settings, codec.runtime)
    img = _crops(kodak_dir, camvid_dir)[0]
    targets = [0.25, 0.5, 1.0, 2.0]
    leveled = match_bpp_targets(codec, img, targets)
    for t, r in zip(targets, leveled):
        ref = match_bpp(plain, img, t)
        assert r.data == ref.data and r.reachable == ref.reachable, (name, t)
        assert r.knob in codec.knob.levels
