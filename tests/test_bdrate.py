"""BD-rate and BD-metric against closed-form cases (curves shifted in rate or in quality)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from codecbench.report.bdrate import bd, bd_markdown, bd_table, log_rate_overlap, monotone

RATE = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
PSNR = 30 + 6 * np.log2(RATE / 0.1)  # a log-linear curve: +6 dB per doubling


def test_identical_curves_give_zero():
    r = bd((RATE, PSNR), (RATE, PSNR))
    assert abs(r.bd_rate) < 1e-9 and abs(r.bd_metric) < 1e-9 and r.overlap == 1 and r.warning is None


def test_half_the_rate_at_equal_quality_is_minus_50_percent():
    r = bd((RATE, PSNR), (RATE / 2, PSNR), min_overlap=0)
    assert r.bd_rate == pytest.approx(-50.0, abs=1e-6)
    assert r.bd_metric == pytest.approx(6.0, abs=1e-6)  # one doubling = 6 dB on this curve


def test_constant_quality_gain():
    r = bd((RATE, PSNR), (RATE, PSNR + 1.5))
    assert r.bd_metric == pytest.approx(1.5, abs=1e-9)
    assert r.bd_rate == pytest.approx((2 ** (-1.5 / 6) - 1) * 100, abs=1e-6)


def test_small_overlap_warns_and_no_overlap_is_nan():
    far = bd((RATE, PSNR), (RATE * 12, PSNR + 20))
    assert far.overlap < 0.5 and "overlap" in far.warning
    none = bd((RATE, PSNR), (RATE * 100, PSNR + 40))
    assert none.overlap == 0 and math.isnan(none.bd_metric) and math.isnan(none.bd_rate)


def test_non_monotone_points_are_dropped():
    r, q, dropped = monotone(np.array([0.4, 0.1, 0.2, 0.3]), np.array([33.0, 30.0, 32.0, 31.0]))
    assert list(r) == [0.1, 0.2, 0.4] and dropped == 1
    assert log_rate_overlap(np.array([1.0, 4.0]), np.array([2.0, 8.0])) == pytest.approx(1 / 3)


def test_bd_table_over_an_aggregate_frame():
    rows = [{"codec": c, "target": str(t), "n": 3, "bpp": b, "psnr": p}
            for c, f in (("jpeg", 1.0), ("better", 0.8)) for t, b, p in zip(RATE, RATE * f, PSNR)]
    res = bd_table(pd.DataFrame(rows), "jpeg")
    assert len(res) == 1 and res[0].codec == "better" and res[0].bd_rate == pytest.approx(-20.0, abs=1e-6)
    assert "better" in bd_markdown(res) and "-20.0" in bd_markdown(res)
    with pytest.raises(ValueError, match="anchor"):
        bd_table(pd.DataFrame(rows), "webp")
