"""The fine-tuning study's tables (codecbench.studies.finetune) from hand-made points: every figure traced."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from codecbench.studies import finetune as st


def _cm(hit: int, miss: int) -> list[list[int]]:
    """A 3×3 matrix (2 classes + void column): class 0 all right, class 1 `hit` right and `miss` answered void."""
    return [[10, 0, 0], [0, hit, miss], [0, 0, 0]]


def _points():
    rows = []
    for codec, status, hit_a, hit_b, bpp in (("J", "ok", 5, 10, 0.06), ("J", "unreachable", 5, 10, 0.07),
                                             ("G", "ok", 0, 10, 0.05), ("G", "error", 0, 0, math.nan)):
        segs = {"a": {"confusion": _cm(hit_a, 10 - hit_a)}, "b": {"confusion": _cm(hit_b, 10 - hit_b)}}
        rows.append({"codec": codec, "status": status, "bpp": bpp, "psnr": 30.0, "ssim": 0.9, "ms_ssim": 0.95,
                     "segmenters": segs if status != "error" else None})
    return pd.DataFrame(rows)


def test_cross_table_gains_and_frame_table():
    points = _points()
    cross = st.cross_table(points, {"a": 90.0, "b": 80.0}, ["J", "G"])
    # J: a sums to class 1 hit 10 of 20 -> IoU(0) 1, IoU(1) 0.5 -> 75 %; b: all right -> 100 %
    assert cross.loc["a", "J"] == pytest.approx(75.0) and cross.loc["b", "J"] == pytest.approx(100.0)
    assert cross.loc["a", "G"] == pytest.approx(50.0) and cross.loc["a", st.ORIGINAL] == 90.0
    fr = st.frame_table(points, ["J", "G"])
    assert fr.loc["J", "n"] == 2 and fr.loc["J", "at_target"] == 1  # the unreachable frame counts, at its bpp
    assert fr.loc["J", "bpp"] == pytest.approx(0.065) and fr.loc["G", "n"] == 1
    g = st.gains(cross, fr, {"J": "b", "G": "b"}, "a", {"G": 16.6})
    assert list(g["gain"]) == pytest.approx([25.0, 50.0])
    assert np.isnan(g["paper_gain"].iloc[0]) and g["paper_gain"].iloc[1] == 16.6
    md = st.gains_markdown(g)
    assert "+25.00" in md and "+16.6" in md
    table = st.rows_markdown(cross, [("a", "uncoded"), ("b", "tuned")], ["original", "G"], {"b": {"value": 64.7}},
                             "paper")
    assert "| tuned | 80.00 | 100.00 | 64.7 |" in table and "| uncoded | 90.00 | 50.00 | – |" in table
