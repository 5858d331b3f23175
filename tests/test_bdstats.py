"""Per-image BD, common-subset BD with bootstrap intervals, paired comparisons (synthetic stores, known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from codecbench.report import bdrate, bdstats, reports, uncertainty
from codecbench.run.point_keys import target_key
from codecbench.run.store import Store


def _rec(img, codec, target, bpp, psnr, status="ok", cm=None):
    r = {"image_hash": f"h{img:02d}", "codec_key": f"{codec}@1{{}}", "target": target_key(target), "status": status,
         "dataset": "d", "image_id": f"i{img:02d}", "codec": codec, "label": codec, "target_bpp": target, "bpp": bpp,
         "metrics": {"psnr": psnr}}
    if cm is not None:
        r["confusion"], r["confusion_void_column"] = cm, False
        r["metrics"]["miou"] = 0.0
    return r


@pytest.fixture()
def shifted(tmp_path):
    """12 images; B needs exactly 25 % fewer bits than A for the same PSNR on every image (per-image curves
    differ by image); B's lowest target is unreachable on two images."""
    rng = np.random.default_rng(0)
    with Store(tmp_path) as s:
        for i in range(12):
            off = rng.normal(0, 2)
            for t in (0.125, 0.25, 0.5, 1.0):
                bpp = t * rng.uniform(0.85, 1.0)
                q = 30 + 4 * np.log2(bpp) + off
                s.put(_rec(i, "A", t, bpp, q))
                st = "unreachable" if (t == 0.125 and i < 2) else "ok"
                s.put(_rec(i, "B", t, 0.75 * bpp, q, status=st))
    return reports.load_points(tmp_path)


def test_per_image_bd_recovers_a_known_shift(shifted):
    (res,) = bdstats.per_image_bd(shifted, "A", "psnr", resamples=200)
    s = res.summary()
    assert s["bd_rate_n"] == 12 and s["skipped"] == 0
    assert s["bd_rate_mean"] == pytest.approx(-25.0, abs=1e-6) and s["bd_rate_median"] == pytest.approx(-25.0, abs=1e-6)
    assert s["bd_rate_lo"] == pytest.approx(-25.0, abs=1e-6) and s["bd_rate_hi"] == pytest.approx(-25.0, abs=1e-6)
    assert s["bd_metric_mean"] == pytest.approx(-4 * np.log2(0.75), abs=1e-6)


def test_common_subset_interval_around_the_plotted_bd(shifted):
    rate, delta = bdstats.curve_bd_ci(shifted, "A", "B", "psnr", resamples=200)
    plotted = {r.metric: r for r in bdrate.bd_table(reports.aggregate(shifted), "A")}["psnr"]
    assert rate.estimate == pytest.approx(plotted.bd_rate) and delta.estimate == pytest.approx(plotted.bd_metric)
    assert rate.lo <= rate.estimate <= rate.hi and rate.n == 12


def test_fast_bd_equals_the_bjontegaard_package():
    rng = np.random.default_rng(1)
    for _ in range(100):
        ra, rt = (np.sort(rng.uniform(0.03, 1, rng.integers(2, 6))) for _ in range(2))
        qa, qt = np.sort(rng.uniform(20, 35, len(ra))), np.sort(rng.uniform(20, 35, len(rt)))
        slow = bdrate.bd((ra, qa), (rt, qt))
        fast = bdrate.bd_fast(bdrate.monotone(ra, qa)[:2], bdrate.monotone(rt, qt)[:2])
        np.testing.assert_allclose(fast, (slow.bd_rate, slow.bd_metric), rtol=1e-12, atol=1e-12)


def test_miou_bd_interval_and_paired_difference(tmp_path):
    rng = np.random.default_rng(2)
    with Store(tmp_path) as s:
        for i in range(10):
            for t, acc in ((0.125, 0.5), (0.25, 0.6), (0.5, 0.7)):
                for codec, extra in (("A", 0.0), ("B", 0.1)):
                    good = int(100 * (acc + extra))
                    cm = [[good, 100 - good], [int(rng.integers(0, 10)), 90]]
                    s.put(_rec(i, codec, t, t, 30 + 10 * t, cm=cm))
    pts = reports.load_points(tmp_path)
    rate, delta = bdstats.curve_bd_ci(pts, "A", "B", "miou_dataset", resamples=100)
    assert delta.estimate > 0 and delta.lo > 0
    paired = uncertainty.paired_at_target(pts, "A", "0.25", "miou_dataset", resamples=200)
    row = paired.iloc[0]
    assert row["codec"] == "B" and row["estimate"] > 0 and bool(row["beyond_noise"])
    md = uncertainty.paired_markdown(paired)
    assert "| B |" in md and "✱" in md


def test_interval_tables_markdown(shifted):
    df = uncertainty.bd_intervals(shifted, "A", ["psnr"], resamples=100)
    md = uncertainty.bd_intervals_markdown(df)
    assert "| B | PSNR (dB) |" in md and "/ 12 |" in md
    means = uncertainty.mean_intervals(shifted, resamples=100)
    row = means[(means.codec == "B") & (means.target == "0.125") & (means.metric == "psnr")].iloc[0]
    assert row["n"] == 10 and row["lo"] <= row["estimate"] <= row["hi"]


def test_table_ci_prints_intervals_and_per_image_bd(shifted, tmp_path, capsys):
    from codecbench.cli.main import main
    from codecbench.run.store import Store

    with Store(tmp_path) as db:  # the fixture's points, stored again
        for _, p in shifted.iterrows():
            db.put({"image_hash": p["image_hash"], "codec_key": p["codec_key"], "target": p["target"],
                    "status": p["status"], "dataset": "d", "image_id": p["image_id"], "codec": p["codec"],
                    "label": p["codec"], "target_bpp": p["target_bpp"], "bpp": p["bpp"],
                    "metrics": {"psnr": p["psnr"]}})
    assert main(["table", str(tmp_path), "--ci", "--resamples", "50", "--anchor", "A"]) == 0
    out = capsys.readouterr().out
    assert "95 % bootstrap intervals" in out and "| B | PSNR (dB) |" in out and "/ 12 |" in out
