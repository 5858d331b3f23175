"""Suites with several segmenters (``[[segmenters]]``): one decode per point, one confusion matrix per segmenter,
each equal to the matrix a single-segmenter run stores; tables show mIoU per segmenter."""

from __future__ import annotations

import numpy as np
import pytest

from codecbench.run.suite import SuiteError, parse_suite


def _doc(segmenters=None, segmenter=None, limit=2):
    doc = {"suite": {"name": "ms", "targets": [0.25], "metrics": ["psnr"], "workers": 1, "device": "cpu"},
           "datasets": [{"name": "camvid", "split": "test", "limit": limit}],
           "codecs": [{"name": "jpeg", "label": "JPEG"}]}
    if segmenters is not None:
        doc["segmenters"] = segmenters
    if segmenter is not None:
        doc["segmenter"] = segmenter
    return doc


PUBLISHED = {"label": "published", "name": "espnet", "options": {"device": "cpu"}}
NO_VOID = {"label": "no-void", "name": "espnet", "options": {"device": "cpu", "predict_void": False}}


def test_segmenters_table_parses_and_the_first_is_the_primary(tmp_path):
    s = parse_suite(_doc([PUBLISHED, {**NO_VOID, "options": {"weights": "w/x.safetensors"}}]), tmp_path / "s.toml")
    assert [e.label for e in s.segmenters] == ["published", "no-void"]
    assert s.segmenter.name == "espnet" and s.segmenter.options == {"device": "cpu"}
    assert s.segmenters[1].options["weights"] == str((tmp_path / "w" / "x.safetensors").resolve())
    assert s.as_dict()["segmenters"][0]["label"] == "published"
    with pytest.raises(SuiteError, match=r"segmenters\[1\].label.*used twice"):
        parse_suite(_doc([PUBLISHED, PUBLISHED]))
    with pytest.raises(SuiteError, match="either \\[segmenter\\] or \\[\\[segmenters\\]\\]"):
        parse_suite(_doc([PUBLISHED], segmenter={"name": "espnet"}))
    with pytest.raises(SuiteError, match=r"segmenters\[0\].label.*missing"):
        parse_suite(_doc([{"name": "espnet"}]))
    with pytest.raises(SuiteError, match="non-empty array"):
        parse_suite(_doc([]))


def _run(doc, store):
    from codecbench.run.runner import run_suite

    summary = run_suite(parse_suite(doc), store=store, progress=False, log=lambda _: None)
    assert summary.failed == 0, summary.errors
    from codecbench.run.store import Store

    with Store(store, read_only=True) as db:
        return {r["image_id"]: r for r in db.records()}


def test_multi_segmenter_points_store_one_matrix_per_segmenter_equal_to_single_runs(tmp_path, camvid_dir,
                                                                                   espnet_weights):
    from codecbench.report.reports import aggregate, load_points, to_markdown
    from codecbench.run.runner import plan_suite

    plan = plan_suite(parse_suite(_doc([PUBLISHED, NO_VOID])), log=lambda _: None)
    assert len(plan.jobs) == 2  # one job (one encode + decode) per image and target, whatever the segmenters
    assert all(len(j.segmenters) == 2 and j.segmenter is None for j in plan.jobs)

    many = _run(_doc([PUBLISHED, NO_VOID]), tmp_path / "many")
    singles = {e["label"]: _run(_doc(segmenter={"name": e["name"], "options": e["options"]}), tmp_path / e["label"])
               for e in (PUBLISHED, NO_VOID)}
    assert set(many) == set(singles["published"]) and len(many) == 2
    for image_id, rec in many.items():
        assert set(rec["segmenters"]) == {"published", "no-void"}
        for label, single in singles.items():
            mine = rec["segmenters"][label]
            assert mine["confusion"] == single[image_id]["confusion"]
            assert mine["miou"] == pytest.approx(single[image_id]["metrics"]["miou"], abs=0)
            assert rec["bpp"] == single[image_id]["bpp"]  # the same encode
        # the first segmenter also fills the plain fields
        assert rec["confusion"] == rec["segmenters"]["published"]["confusion"]
        assert rec["metrics"]["miou"] == rec["segmenters"]["published"]["miou"]
    # the two segmenters do differ (no-void never answers void), so the test can tell them apart
    assert any(np.asarray(r["segmenters"]["published"]["confusion"])[:, -1].sum() > 0 for r in many.values())
    assert all(np.asarray(r["segmenters"]["no-void"]["confusion"])[:, -1].sum() == 0 for r in many.values())

    agg = aggregate(load_points(tmp_path / "many"))
    for label in ("published", "no-void"):
        single = aggregate(load_points(tmp_path / label))
        assert agg[f"miou_dataset[{label}]"].iloc[0] == pytest.approx(single["miou_dataset"].iloc[0], abs=1e-12)
    md = to_markdown(agg)
    assert "mIoU (%) published" in md and "mIoU (%) no-void" in md
