"""The CI gate: passes on the committed quick baseline, fails on a worsened copy, missing points fail."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from codecbench.report import check

BASELINE = Path(__file__).resolve().parents[1] / "results" / "baselines" / "quick.json"


def _agg_from_baseline(doc):
    return pd.DataFrame([{k: v for k, v in p.items()} for p in doc["points"]])


def test_committed_baseline_passes_against_itself_and_fails_when_worsened(tmp_path):
    doc = check.read_baseline(BASELINE)
    agg = _agg_from_baseline(doc)
    assert not check.failed(check.compare(agg, doc))

    worse = copy.deepcopy(doc)  # baseline claims better quality and fewer bits than the run has
    worse["points"][0]["psnr"] += 0.5
    worse["points"][1]["bpp"] *= 0.9
    deltas = check.compare(agg, worse)
    assert check.failed(deltas)
    bad = [(d.codec, d.target, d.metric) for d in deltas if d.status == "regression"]
    p0, p1 = doc["points"][0], doc["points"][1]
    assert (p0["codec"], p0["target"], "psnr") in bad and (p1["codec"], p1["target"], "bpp") in bad
    assert "FAIL" in check.report(deltas)


def test_missing_point_and_fewer_images_fail():
    doc = {"format": check.BASELINE_FORMAT, "points": [
        {"codec": "jpeg", "target": "0.25", "n": 3, "psnr": 30.0, "bpp": 0.24},
        {"codec": "jpeg", "target": "0.5", "n": 3, "psnr": 34.0, "bpp": 0.48},
    ]}  # fmt: skip
    agg = pd.DataFrame([{"codec": "jpeg", "target": "0.25", "n": 2, "psnr": 30.0, "bpp": 0.24}])
    deltas = check.compare(agg, doc)
    assert {(d.target, d.metric, d.status) for d in deltas if d.status == "missing"} == {
        ("0.25", "n", "missing"), ("0.5", "point", "missing")}


def test_tolerances_are_used_and_overridable():
    doc = {"format": check.BASELINE_FORMAT, "points": [{"codec": "c", "target": "1.0", "n": 1, "psnr": 30.0,
                                                         "bpp": 1.0}]}
    agg = pd.DataFrame([{"codec": "c", "target": "1.0", "n": 1, "psnr": 29.95, "bpp": 1.015}])
    assert not check.failed(check.compare(agg, doc))  # within 0.1 dB and 2 %
    tight = check.parse_tolerances(["psnr=0.01", "bpp=0.01"])
    assert check.failed(check.compare(agg, doc, tight))
    with pytest.raises(ValueError, match="METRIC=VALUE"):
        check.parse_tolerances(["psnr"])
    better = pd.DataFrame([{"codec": "c", "target": "1.0", "n": 1, "psnr": 31.0, "bpp": 0.5}])
    assert {d.status for d in check.compare(better, doc)} == {"improved"}


def test_bad_baseline_file(tmp_path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"points": []}))
    with pytest.raises(check.BaselineError, match="b.json"):
        check.read_baseline(p)
