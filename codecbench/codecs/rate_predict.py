"""Rate control's prediction of the next knob value to probe, from the (knob, log bpp) points probed so far.

Coordinates: u is the rate coordinate (grows with bpp: the knob value, negated for a knob that lowers the rate,
or a level index; see :mod:`.ratecontrol`); each point maps u to log(bpp / target). Inside a bracket the next
probe is where a monotone cubic (PCHIP) through the points crosses zero; beyond every point it is extrapolated
(integer knobs: a wide-base secant on the knob's axis, one setting past the predicted crossing).
"""

from __future__ import annotations

import math

DEFAULT_OCTAVES = 6.0  # prior slope before two points are known: the span covers ~2**6 in rate


def next_point(points, lo, hi, u_min, u_max, integer, aim=0.0, axis=None) -> float | None:
    """Next rate coordinate to probe, where log(bpp/target) is expected to equal aim: inside the
    bracket by monotone cubic (PCHIP) interpolation of log-bpp, outside it by extrapolating a slope
    (integer knobs: :func:`_extrapolate_integer`; float knobs: the nearest slope, a step at most as long as
    the span probed so far)."""
    us = sorted(points)
    fs = [points[u] - aim for u in us]
    if lo is not None and hi is not None:
        x = _pchip_root(us, fs, lo, hi)
        if integer:
            return float(min(max(math.floor(x), lo + 1), hi - 1))
        eps = 1e-3 * (hi - lo)
        return min(max(x, lo + eps), hi - eps)
    going_up = hi is None  # every point is below the target: raise the rate
    u0 = lo if going_up else hi
    if integer and len(us) >= 2:
        return _extrapolate_integer(points, u0, going_up, u_min, u_max, axis or AXES["linear"], aim)
    slope = math.log(2.0) * DEFAULT_OCTAVES / (u_max - u_min)
    if len(us) >= 2:
        (u1, f1), (u2, f2) = (us[-2], fs[-2]), (us[-1], fs[-1])
        if not going_up:
            (u1, f1), (u2, f2) = (us[0], fs[0]), (us[1], fs[1])
        if (f2 - f1) / (u2 - u1) > 1e-9:
            slope = (f2 - f1) / (u2 - u1)
        probed = us[-1] - us[0]
    else:
        probed = u_max - u_min
    step = -(points[u0] - aim) / slope
    step = max(min(step, probed), -probed)
    if integer:
        step += 1 if going_up else -1  # overshoot by one so that the next point tends to bracket
        x = math.floor(u0 + step) if going_up else math.ceil(u0 + step)
    else:
        x = u0 + step * (1.02 if going_up else 1.0)
    x = min(max(x, u_min), u_max)
    if x == u0:
        return None
    return float(x)


WIDE_BASE = 1 / 8  # integer extrapolation: the slope is taken over at least this fraction of the knob's span


def _ijg_axis(q: float) -> float:
    """An IJG JPEG quality's rate coordinate: −log of its quantization-table scale (5000/q, 200 − 2q from 50)."""
    q = min(max(q, 1.0), 100.0)
    return -math.log(5000.0 / q if q < 50 else max(200.0 - 2.0 * q, 1.0))


def _ijg_quality(v: float) -> float:
    """The inverse of :func:`_ijg_axis` (a real-valued quality)."""
    scale = math.exp(-v)
    return 5000.0 / scale if scale > 100.0 else (200.0 - scale) / 2.0


def _identity(x: float) -> float:
    return float(x)


# Knob.axis -> (coordinate of an increasing knob's value, its inverse)
AXES = {"linear": (_identity, _identity), "ijg": (_ijg_axis, _ijg_quality)}


def _extrapolate_integer(points, u0, going_up, u_min, u_max, axis, aim) -> float | None:
    """Beyond every probed point of an integer knob: the secant from the outermost point u0 to the nearest point
    at least WIDE_BASE of the span away (adjacent settings give a noisy slope; targets of one session lie about
    an octave apart), taken on the knob's axis, then one setting past the predicted crossing so that the next
    probe tends to close the bracket."""
    to_axis, from_axis = axis
    others = [u for u in points if u != u0]
    far = [u for u in others if abs(u - u0) >= (u_max - u_min) * WIDE_BASE] or others
    u1 = min(far, key=lambda u: abs(u - u0))
    du = to_axis(u0) - to_axis(u1)
    slope = (points[u0] - points[u1]) / du if du else 0.0
    if not slope > 1e-9:
        slope = math.log(2.0) * DEFAULT_OCTAVES / (to_axis(u_max) - to_axis(u_min))
    x = from_axis(to_axis(u0) - (points[u0] - aim) / slope)
    x = math.floor(x) + 1 if going_up else math.ceil(x) - 1
    x = min(max(x, u_min), u_max)
    return None if x == u0 else float(x)


def _pchip_root(us, fs, lo, hi) -> float:
    """Where the monotone cubic through (us, fs) crosses 0 between lo and hi (f(lo) ≤ 0 < f(hi))."""
    if len(us) < 3:  # two points: straight line in log-bpp
        f_lo, f_hi = fs[us.index(lo)], fs[us.index(hi)]
        return lo + (hi - lo) * (-f_lo) / (f_hi - f_lo)
    from scipy.interpolate import PchipInterpolator

    curve = PchipInterpolator(us, fs)
    a, b = lo, hi
    for _ in range(60):
        m = 0.5 * (a + b)
        if curve(m) <= 0:
            a = m
        else:
            b = m
    return a
