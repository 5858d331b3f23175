"""Rate control: find the knob value that meets a target rate in bits per pixel, per image.

bpp is always measured from the real bytes (8·len/(H·W)). The search uses only the knob's
monotonicity (``Knob.increases_rate``): it brackets the target and then interpolates on log(bpp)
(monotone cubic through the points probed so far), never encoding the same knob value twice.

mode "below"  : the highest-rate setting whose bpp ≤ target (the default; results never exceed it).
mode "nearest": the setting whose bpp is closest to the target, either side.

Integer knobs are searched until two adjacent values bracket the target. Float knobs stop when
a point lies within FLOAT_TOLERANCE (5 %) below the target ("below") or either side ("nearest").
A codec whose knob is itself a rate (``Knob.is_bpp``, e.g. JPEG 2000) and a fixed-rate codec
(knob None) are encoded exactly once. When even the lowest-rate setting exceeds the target, the
result has ``reachable=False`` and carries that lowest setting and its bpp as ``min_bpp``.

Several targets of one image: :class:`RateSession` (or :func:`match_bpp_targets`) shares one probe cache
across them for an integer knob, so no setting is encoded twice for the image, and each search starts from
every setting already probed (the bracket the previous target left) instead of from scratch. Each target's
:class:`RateResult` counts only the encodes it added (0 when earlier searches already held its answer). For a
monotone rate curve the answer does not depend on the order or the company of the targets (an integer search
ends on two adjacent settings around the target), so a resumed run stores what an uninterrupted one does; on a
rate plateau (several settings giving the same bytes, e.g. AVIF's and JPEG's lowest qualities) the recorded
knob may be another setting of the plateau, with the same stream. A float knob's answer
would depend on the probes it starts from (anywhere in the 5 % window), so float-knob targets keep one fresh
search each (the session remembers the streams, so a setting two searches visit is encoded once); rate knobs
(``is_bpp``) and fixed-rate codecs encode once per target anyway.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Literal, Union, cast

import numpy as np

from .rate_predict import AXES, next_point
from .spec import Codec, Knob, bpp_of

KnobValue = Union[int, float]
FLOAT_TOLERANCE = 0.05  # relative distance to the target at which a float-knob search stops
MAX_ENCODES = 40  # safety net for pathological (non-monotone) codecs


@dataclass
class RateResult:
    """Outcome of rate control for one image and one target.

    target_bpp: requested rate (None for a fixed-rate codec run without target).
    knob: chosen knob value (None for a fixed-rate codec).
    bpp: achieved bits per pixel of ``data`` over the original image's pixels.
    data: the encoded bytes at the chosen setting.
    encodes: number of encoder calls spent (each knob value at most once; in a session, settings other targets
        already encoded cost none).
    reachable: False when the target is below the codec's lowest rate; knob/data/bpp are then
        those of the lowest-rate setting.
    min_bpp: bpp of the lowest-rate setting when it was encoded (always set when unreachable).
    trials: every (knob, bpp) the search looked at, in order.
    """

    target_bpp: float | None
    knob: KnobValue | None
    bpp: float
    data: bytes
    encodes: int
    reachable: bool
    min_bpp: float | None
    trials: list[tuple[KnobValue, float]] = field(default_factory=list)


class _Probe:
    """Encodes at most once per knob value; u is the 'rate coordinate' (grows with bpp). ``memo``: a session's
    {knob value: (bytes, bpp)} shared by fresh searches of other targets; a value found there costs no encode but is
    still a trial of this search, so the search takes the path it would take alone."""

    def __init__(self, codec: Codec, image: np.ndarray, memo: dict | None = None):
        self.codec, self.image, self.memo = codec, image, memo
        self.encoded = 0  # encoder calls this probe made
        self.h, self.w = image.shape[:2]
        if codec.knob is None:
            raise ValueError(f"codec {codec.name!r} has no knob to search")
        self.knob: Knob = codec.knob
        self.sign = 1 if self.knob.increases_rate else -1
        self.cache: dict[KnobValue, tuple[bytes, float]] = {}
        self.trials: list[tuple[KnobValue, float]] = []

    def knob_of(self, u: float) -> KnobValue:
        levels = self.knob.levels
        if levels:  # u counts levels: index i is the class starting at levels[i]
            return levels[min(max(int(round(self.sign * u)), 0), len(levels) - 1)]
        return self.knob.clip(self.sign * u)

    def u_of(self, knob_value: KnobValue) -> float:
        levels = self.knob.levels
        if levels:
            return self.sign * (bisect.bisect_right(levels, knob_value) - 1)
        return self.sign * knob_value

    def __call__(self, u: float) -> tuple[KnobValue, float]:
        k = self.knob_of(u)
        if k not in self.cache:
            hit = self.memo.get(k) if self.memo is not None else None
            if hit is None:
                data = self.codec.encode(self.image, k)
                hit = (data, bpp_of(data, self.h, self.w))
                self.encoded += 1
                if self.memo is not None:
                    self.memo[k] = hit
            self.cache[k] = hit
            self.trials.append((k, hit[1]))
        return k, self.cache[k][1]

    def result(self, target, k, reachable, min_bpp, first: int = 0) -> RateResult:
        """The result at setting k; trials are those since trial number first, encodes the encoder calls since
        then (fewer than the trials only where a session memo held some)."""
        data, bpp = self.cache[k]
        return RateResult(target, k, bpp, data, self.encoded - first, reachable, min_bpp,
                          list(self.trials[first:]))


def match_bpp(
    codec: Codec,
    image: np.ndarray,
    target_bpp: float | None,
    *,
    mode: Literal["below", "nearest"] | str = "below",
) -> RateResult:
    """Encode image (RGB uint8 H×W×3) with the codec at the setting that best meets target_bpp."""
    if mode not in ("below", "nearest"):
        raise ValueError(f"mode must be 'below' or 'nearest', got {mode!r}")
    h, w = image.shape[:2]
    knob = codec.knob
    if knob is None:
        data = codec.encode(image, None)
        bpp = bpp_of(data, h, w)
        reachable = target_bpp is None or bpp <= target_bpp
        return RateResult(target_bpp, None, bpp, data, 1, reachable, None if reachable else bpp, [])
    if target_bpp is None or not (target_bpp > 0 and math.isfinite(target_bpp)):
        raise ValueError(f"codec {codec.name!r} needs a positive finite target bpp, got {target_bpp!r}")
    if knob.is_bpp:
        k = knob.clip(target_bpp)
        data = codec.encode(image, k)
        bpp = bpp_of(data, h, w)
        reachable = bpp <= target_bpp  # the codec promises bytes ≤ budget; above it only below its reach
        return RateResult(target_bpp, k, bpp, data, 1, reachable, None if reachable else bpp, [(k, bpp)])
    return _search(_Probe(codec, image), target_bpp, mode)


class RateSession:
    """Rate control for several targets of one image with one codec, sharing one probe cache.

    ``session.match(t)`` returns what :func:`match_bpp` would; its ``encodes`` and ``trials`` are only those
    this target added. The probes seed each other's searches only for integer knobs (see the module docstring).
    A float knob runs each target's search afresh, as match_bpp does, so its answer and its trials are
    match_bpp's; the session only remembers every setting's stream, so a value another target's search already
    encoded (the first probe, which all targets share; the lowest-rate setting of unreachable ones) costs no
    encode again: ``encodes`` counts the encoder calls, fewer than the trials. Asking targets in ascending
    order is cheapest (the search starts at the low-rate end).
    """

    def __init__(self, codec: Codec, image: np.ndarray, mode: Literal["below", "nearest"] = "below"):
        if mode not in ("below", "nearest"):
            raise ValueError(f"mode must be 'below' or 'nearest', got {mode!r}")
        self.codec, self.image, self.mode = codec, image, mode
        knob = codec.knob
        self.shared = knob is not None and knob.integer and not knob.is_bpp
        self._probe = _Probe(codec, image) if self.shared else None
        self._memo: dict | None = {} if knob is not None and not knob.integer and not knob.is_bpp else None

    def match(self, target_bpp: float | None) -> RateResult:
        if not self.shared and self._memo is None:  # a rate knob or a fixed-rate codec: one encode anyway
            return match_bpp(self.codec, self.image, target_bpp, mode=self.mode)
        if target_bpp is None or not (target_bpp > 0 and math.isfinite(target_bpp)):
            raise ValueError(f"codec {self.codec.name!r} needs a positive finite target bpp, got {target_bpp!r}")
        if self._memo is not None:  # a float knob: a fresh search, remembered streams
            return _search(_Probe(self.codec, self.image, memo=self._memo), target_bpp, self.mode)
        probe = cast(_Probe, self._probe)  # set when shared
        return _search(probe, target_bpp, self.mode, first=len(probe.trials), start=0.0)


def match_bpp_targets(codec: Codec, image: np.ndarray, targets, *, mode: Literal["below", "nearest"] = "below"
                      ) -> list[RateResult]:
    """match_bpp for every target (results in the order given), searched in ascending order in one session."""
    session = RateSession(codec, image, mode)
    targets = list(targets)
    out: dict[int, RateResult] = {}
    for i in sorted(range(len(targets)), key=lambda i: targets[i]):
        out[i] = session.match(targets[i])
    return [out[i] for i in range(len(targets))]


START_FRACTION = 0.3  # first probe: 30 % of the knob's span above its lowest-rate end (low-rate benchmark)


def _search(probe: _Probe, target: float, mode: str, first: int = 0, start: float = START_FRACTION
            ) -> RateResult:
    """Search one target; settings already in the probe's cache (trials before number first, from other
    targets of the same image) seed the bracket and are never encoded again."""
    knob = probe.knob
    u_min, u_max = sorted((probe.u_of(knob.low), probe.u_of(knob.high)))
    span = u_max - u_min
    log_t = math.log(target)
    # rate coordinate u -> log(bpp) - log(target), monotone in u; seeded with what earlier targets probed
    points = {probe.u_of(k): math.log(max(b, 1e-300)) - log_t for k, (_, b) in probe.cache.items()}

    def bracket():
        los = [u for u, fv in points.items() if fv <= 0]
        his = [u for u, fv in points.items() if fv > 0]
        return (max(los) if los else None), (min(his) if his else None)

    def done(lo, hi) -> bool:
        if lo is not None and lo >= u_max:
            return True  # even the highest rate is at or below the target
        if hi is not None and hi <= u_min:
            return True  # even the lowest rate exceeds it: unreachable
        if knob.integer:
            return lo is not None and hi is not None and hi - lo <= 1
        if lo is not None and points[lo] >= math.log1p(-FLOAT_TOLERANCE):
            return True
        if mode == "nearest" and any(abs(math.expm1(fv)) <= FLOAT_TOLERANCE for fv in points.values()):
            return True
        return lo is not None and hi is not None and hi - lo <= span * 1e-6

    # float knobs aim at the middle of the accepted window (0.975·target in "below" mode)
    aim = math.log1p(-FLOAT_TOLERANCE / 2) if (not knob.integer and mode == "below") else 0.0
    axis = AXES[knob.axis] if probe.sign > 0 and not knob.levels else AXES["linear"]
    if points:
        lo, hi = bracket()
        u = None if done(lo, hi) else next_point(points, lo, hi, u_min, u_max, knob.integer, aim, axis)
        if u is not None and probe.knob_of(u) in probe.cache:
            u = None
    else:
        u = u_min + start * span
        if knob.integer:
            u = float(round(u))
    while u is not None and len(probe.trials) - first < MAX_ENCODES:
        k, bpp = probe(u)
        points[probe.u_of(k)] = math.log(max(bpp, 1e-300)) - log_t
        lo, hi = bracket()
        if done(lo, hi):
            break
        u = next_point(points, lo, hi, u_min, u_max, knob.integer, aim, axis)
        if u is None or probe.knob_of(u) in probe.cache:
            break
    return _pick(probe, target, mode, u_min, first)


def _pick(probe: _Probe, target: float, mode: str, u_min: float, first: int = 0) -> RateResult:
    trials = probe.trials
    lowest_k, lowest_bpp = min(trials, key=lambda t: (t[1], probe.u_of(t[0])))
    min_bpp = lowest_bpp if probe.u_of(lowest_k) <= u_min else None
    below = [t for t in trials if t[1] <= target]
    if not below and probe.u_of(lowest_k) > u_min:
        probe(u_min)  # the search was cut short: make sure the lowest-rate setting is known
        lowest_k, lowest_bpp = min(trials, key=lambda t: (t[1], probe.u_of(t[0])))
        below = [t for t in trials if t[1] <= target]
    if not below:
        # nothing at or under the target: the search ran to the lowest-rate setting
        return probe.result(target, lowest_k, False, lowest_bpp, first)
    if mode == "below":
        k = max(below, key=lambda t: (t[1], -abs(probe.u_of(t[0]))))[0]
    else:
        k = min(trials, key=lambda t: (abs(t[1] - target), t[1]))[0]
    return probe.result(target, k, True, min_bpp, first)


def fewest_encodes(knob: Knob | None, chosen: list[tuple[KnobValue | None, bool]]) -> int:
    """The fewest encodes any exact mode-"below" search needs for one image's targets, given the (knob value,
    reachable) each target ended on: a lower bound for measuring rate control's overhead.

    Integer knob: a reachable target needs its setting and the next higher-rate one (the proof that it overshoots),
    unless its setting is the top; an unreachable one needs the lowest-rate setting; shared settings count once
    (on ``levels``, per level). A float knob (its search may stop anywhere in the 5 % window): one per distinct
    setting chosen, what an oracle needs; a rate knob and a fixed-rate codec: one per target.
    """
    if knob is None or knob.is_bpp:
        return len(chosen)
    if not knob.integer:
        return len({value for value, _ in chosen})
    grid = list(knob.levels) if knob.levels else list(range(int(knob.low), int(knob.high) + 1))
    if not knob.increases_rate:
        grid.reverse()  # now ascending in rate
    need: set[int] = set()
    for value, reachable in chosen:
        if not reachable or value is None:
            need.add(grid[0])
            continue
        q = int(value)
        i = max(j for j, g in enumerate(grid) if (g <= q if knob.increases_rate else g >= q))
        need.add(grid[i])
        if i + 1 < len(grid):
            need.add(grid[i + 1])
    return len(need)
