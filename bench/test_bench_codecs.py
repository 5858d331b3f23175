"""Encode and decode speed per classical codec on one Kodak image (kodim23, 768×512) at ~0.5 bpp.

Run: nice pytest bench/test_bench_codecs.py --benchmark-enable
Skipped without ../shared (set CODECBENCH_SHARED). The knob for 0.5 bpp is found first by rate
control (not timed); each benchmark then times one encode (or decode) per round. Threads: libraries
use their own defaults (glymur 1 thread); the numbers are wall-clock seconds on this machine.
"""

from __future__ import annotations

import pytest

from codecbench.codecs import registry
from codecbench.codecs.ratecontrol import match_bpp
from codecbench.imageio import load_rgb
from codecbench.paths import ENV_VAR, shared_path

CODECS = ("jpeg", "webp", "avif", "jpeg2000", "heic", "jpegxl", "bpg")
TARGET_BPP = 0.5
ROUNDS = 5


@pytest.fixture(scope="module")
def kodim23():
    path = shared_path("data", "kodak", "kodim23.png")
    if not path.exists():
        pytest.skip(f"{path} absent: set {ENV_VAR} to the shared data folder")
    return load_rgb(path)


_points: dict[str, object] = {}


def _point(name, image):
    spec = registry.get(name)
    reason = spec.unavailable(dict(spec.defaults))
    if reason:
        pytest.skip(f"{name} unavailable: {reason}")
    if name not in _points:
        codec = spec.bind()
        _points[name] = (codec, match_bpp(codec, image, TARGET_BPP))
    return _points[name]


@pytest.mark.parametrize("name", CODECS)
def test_encode(benchmark, kodim23, name):
    codec, rate = _point(name, kodim23)
    benchmark.group = "codec encode (kodim23, 0.5 bpp)"
    benchmark.extra_info.update(knob=rate.knob, bpp=rate.bpp, version=codec.version())
    data = benchmark.pedantic(codec.encode, args=(kodim23, rate.knob), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert len(data) == len(rate.data)


@pytest.mark.parametrize("name", CODECS)
def test_decode(benchmark, kodim23, name):
    codec, rate = _point(name, kodim23)
    benchmark.group = "codec decode (kodim23, 0.5 bpp)"
    benchmark.extra_info.update(knob=rate.knob, bpp=rate.bpp, version=codec.version())
    out = benchmark.pedantic(codec.decode, args=(rate.data,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert out.shape == kodim23.shape
