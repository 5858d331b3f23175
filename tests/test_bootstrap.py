"""Bootstrap intervals against a slow reference (explicit loops over the same draws) and known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codecbench.report import bootstrap as bs
from codecbench.report.reports import dataset_miou


def slow_percentile_interval(stats: list[float], level: float = 0.95) -> tuple[float, float]:
    s = sorted(x for x in stats if math.isfinite(x))
    a = (1 - level) / 2

    def q(p):  # numpy's default linear interpolation, written out
        pos = p * (len(s) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    return q(a), q(1 - a)


def test_draws_are_seeded_and_counts_match_indices():
    a, b = bs.Draws(7, 50, seed=3), bs.Draws(7, 50, seed=3)
    assert (a.index == b.index).all() and not (a.index == bs.Draws(7, 50, seed=4).index).all()
    for row, counts in zip(a.index, a.counts):
        assert counts.tolist() == [list(row).count(i) for i in range(7)]


def test_mean_ci_equals_the_slow_reference():
    v = np.random.default_rng(1).normal(30, 2, 24)
    d = bs.Draws(24, 300, seed=0)
    slow = [sum(v[i] for i in row) / 24 for row in d.index]
    iv = bs.mean_ci(v, d)
    assert (iv.lo, iv.hi) == pytest.approx(slow_percentile_interval(slow), abs=1e-12)
    assert iv.estimate == pytest.approx(v.mean())


def test_mean_ci_has_the_known_width_and_coverage():
    # normal data: the 95 % interval of the mean is about mean ± 1.96 σ/√n and covers the true mean ~95 % of the time
    rng = np.random.default_rng(7)
    covered, widths = 0, []
    for k in range(200):
        v = rng.normal(10.0, 3.0, 60)
        iv = bs.mean_ci(v, resamples=400, seed=k)
        covered += iv.lo <= 10.0 <= iv.hi
        widths.append(iv.hi - iv.lo)
    assert 0.88 <= covered / 200 <= 0.99
    assert np.mean(widths) == pytest.approx(2 * 1.96 * 3.0 / math.sqrt(60), rel=0.08)


def _confusions(rng, n, k=4, void=False):
    out = []
    for _ in range(n):
        cm = rng.integers(0, 50, size=(k + void, k + void))
        if void:
            cm[-1] = 0
        out.append(cm)
    return out


@pytest.mark.parametrize("void", [False, True])
def test_miou_ci_equals_the_slow_reference(void):
    cms = _confusions(np.random.default_rng(2), 15, void=void)
    d = bs.Draws(15, 200, seed=5)
    slow = [dataset_miou([sum(cms[i] for i in row)], void_column=void) for row in d.index]
    iv = bs.miou_ci(cms, d, void_column=void)
    assert (iv.lo, iv.hi) == pytest.approx(slow_percentile_interval(slow), abs=1e-9)
    assert iv.estimate == pytest.approx(dataset_miou(cms, void_column=void))


def test_identical_images_give_a_zero_width_interval():
    cm = np.array([[30, 5], [2, 40]])
    iv = bs.miou_ci([cm] * 10, resamples=100)
    assert iv.lo == pytest.approx(iv.estimate) and iv.hi == pytest.approx(iv.estimate)
    assert bs.mean_ci([2.5] * 9, resamples=100).interval == (2.5, 2.5)


def test_paired_difference_with_a_known_shift():
    rng = np.random.default_rng(3)
    a = rng.normal(30, 3, 40)
    b = a + 0.5 + rng.normal(0, 0.05, 40)  # B is 0.5 dB better on every image: far beyond noise
    iv = bs.paired_ci(a, b, resamples=500)
    assert iv.estimate == pytest.approx(0.5, abs=0.03) and iv.excludes(0) and iv.hi - iv.lo < 0.05
    same = bs.paired_ci(a, a + rng.normal(0, 1, 40), resamples=500)
    assert not same.excludes(0)  # pure noise: the interval straddles 0


def test_paired_miou_slow_reference_and_sign():
    rng = np.random.default_rng(4)
    a = _confusions(rng, 12, void=True)
    b = [c.copy() for c in a]
    for c in b:  # codec B moves misses onto the diagonal: higher mIoU
        c[0, 0] += c[0, 1]
        c[0, 1] = 0
    d = bs.Draws(12, 150, seed=1)
    slow = [dataset_miou([sum(b[i] for i in r)], True) - dataset_miou([sum(a[i] for i in r)], True) for r in d.index]
    iv = bs.paired_miou_ci(a, b, d, void_column=True)
    assert (iv.lo, iv.hi) == pytest.approx(slow_percentile_interval(slow), abs=1e-9)
    assert iv.estimate > 0 and iv.excludes(0)


def test_statistic_ci_uses_weights():
    v = np.arange(10.0)
    iv = bs.statistic_ci(10, lambda w: float(w @ v / w.sum()), resamples=300, seed=2)
    ref = bs.mean_ci(v, resamples=300, seed=2)
    assert (iv.estimate, iv.lo, iv.hi) == pytest.approx((ref.estimate, ref.lo, ref.hi))
