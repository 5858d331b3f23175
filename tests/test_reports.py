"""Aggregation, dataset-level mIoU, table formats and CompressAI interoperability."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from codecbench.report import compressai, reports
from codecbench.run.point_keys import target_key
from codecbench.run.store import Store


def _rec(img, codec, target, bpp, psnr, status="ok", cm=None):
    r = {"image_hash": f"h{img}", "codec_key": f"{codec}@1{{}}", "target": target_key(target), "status": status,
         "dataset": "d", "image_id": f"i{img}", "codec": codec, "label": codec, "target_bpp": target, "bpp": bpp,
         "metrics": {} if psnr is None else {"psnr": psnr, "ssim": 0.5 + psnr / 100}}
    if cm is not None:
        r["confusion"] = cm
        r["metrics"]["miou"] = 0.0
    return r


@pytest.fixture()
def store(tmp_path):
    with Store(tmp_path) as s:
        s.put(_rec(0, "jpeg", 0.25, 0.24, 30.0))
        s.put(_rec(1, "jpeg", 0.25, 0.22, 32.0))
        s.put(_rec(2, "jpeg", 0.25, 0.40, 20.0, status="unreachable"))
        s.put(_rec(3, "jpeg", 0.25, None, None, status="error"))
        s.put(_rec(0, "jpeg", 0.5, 0.48, 35.0))
        s.put(_rec(0, "webp", 0.25, 0.25, math.inf))
    return tmp_path


def test_aggregate_means_exclude_unreachable_and_failed(store):
    agg = reports.aggregate(reports.load_points(store))
    row = agg[(agg.codec == "jpeg") & (agg.target == "0.25")].iloc[0]
    assert (row.n, row.unreachable, row.failed) == (2, 1, 1)
    assert row.bpp == pytest.approx(0.23) and row.psnr == pytest.approx(31.0)
    assert row.psnr_std == pytest.approx(np.std([30.0, 32.0], ddof=1))
    assert list(agg.codec) == ["jpeg", "jpeg", "webp"]
    assert agg[agg.codec == "webp"].psnr.iloc[0] == math.inf  # lossless PSNR survives the store


def test_formats(store):
    agg = reports.aggregate(reports.load_points(store))
    md = reports.to_markdown(agg)
    assert "| jpeg | 0.25 | 2 | 1 | 1 |" in md and "31.00 ± 1.41" in md and "∞" in md
    tex = reports.to_latex(agg)
    assert r"\begin{tabular}" in tex and r"$\pm$" in tex and r"$\infty$" in tex
    csv = reports.to_csv(agg)
    assert csv.splitlines()[0].startswith("codec,target,target_bpp,n,unreachable,failed,bpp")


def test_dataset_miou_is_iou_of_summed_confusions(tmp_path):
    a = [[8, 2], [0, 0]]  # image 1: class 1 never occurs in truth
    b = [[0, 0], [2, 8]]
    with Store(tmp_path) as s:
        s.put(_rec(0, "jpeg", 0.25, 0.2, 30, cm=a))
        s.put(_rec(1, "jpeg", 0.25, 0.2, 30, cm=b))
    agg = reports.aggregate(reports.load_points(tmp_path))
    # summed [[8,2],[2,8]]: IoU = 8/12 for both classes
    assert agg.miou_dataset.iloc[0] == pytest.approx(100 * 8 / 12)


def test_compressai_round_trip(tmp_path, store):
    agg = reports.aggregate(reports.load_points(store))
    doc = compressai.export(agg, "jpeg")
    assert doc["name"] == "jpeg" and doc["results"]["bpp"] == pytest.approx([0.23, 0.48])
    assert doc["results"]["psnr-rgb"] == pytest.approx([31.0, 35.0])
    path = tmp_path / "ref.json"
    path.write_text(json.dumps({"name": "bmshj2018", "results": {"bpp": [0.1, 0.3], "psnr-rgb": [29, 33],
                                                                "ms-ssim-rgb": [0.9, 0.95]}}))
    ref = compressai.read_reference(path)
    assert ref.name == "bmshj2018" and ref.metrics["ms_ssim"] == [0.9, 0.95]
    full = reports.with_references(agg, [ref])
    assert set(full.codec) == {"jpeg", "webp", "bmshj2018"}
    assert "ref" in reports.to_markdown(full)


@pytest.mark.parametrize("content, problem", [
    ("not json", "not valid JSON"),
    ('{"name": "x"}', "results"),
    ('{"results": {"bpp": [0.1], "psnr-rgb": [1, 2]}}', "psnr-rgb"),
    ('{"results": {"bpp": [0.1]}}', "no known metric"),
])  # fmt: skip
def test_bad_reference_files_name_the_file(tmp_path, content, problem):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(compressai.ReferenceCurveError) as err:
        compressai.read_reference(p)
    assert str(p) in str(err.value) and problem in str(err.value)


def test_plot_writes_png_and_svg(tmp_path, store):
    from codecbench.report.plots import plot_curves

    agg = reports.aggregate(reports.load_points(store))
    files = plot_curves(agg, tmp_path / "out" / "rd", log_x=True, formats=("png", "svg", "pdf"))
    assert [f.suffix for f in files] == [".png", ".svg", ".pdf"]
    assert all(f.stat().st_size > 1000 for f in files)
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dataset_miou_with_a_void_answer_column(tmp_path):
    # 2 classes + void column (segmenter registry convention): void answers are misses, not a class
    cm = [[6, 2, 2], [0, 8, 0], [0, 0, 0]]
    with Store(tmp_path) as s:
        r = _rec(0, "jpeg", 0.25, 0.2, 30, cm=cm)
        r["confusion_void_column"] = True
        s.put(r)
    agg = reports.aggregate(reports.load_points(tmp_path))
    # IoU0 = 6/(10+6-6), IoU1 = 8/(8+10-8)
    assert agg.miou_dataset.iloc[0] == pytest.approx(100 * (6 / 10 + 8 / 10) / 2)


def test_curves_use_only_targets_every_image_reached(store):
    agg = reports.aggregate(reports.load_points(store))
    assert list(reports.curves(agg, "psnr")["jpeg"][0]) == [0.48]  # 0.25 has an unreachable and a failed point
    assert list(reports.curves(agg, "psnr", complete=False)["jpeg"][0]) == pytest.approx([0.23, 0.48])
