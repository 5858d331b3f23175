"""`codecbench segment-eval` on a few CamVid test frames (needs ../shared)."""

from __future__ import annotations

import json

import pytest

from codecbench.cli.main import main


@pytest.fixture
def shared_camvid(camvid_dir, espnet_weights):
    return camvid_dir, espnet_weights


def test_json_report(shared_camvid, capsys):
    camvid, weights = shared_camvid
    code = main(["segment-eval", "--root", str(camvid), "--weights", str(weights), "--limit", "3",
                 "--batch-size", "2", "--device", "cpu", "--json", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    r = json.loads(out)
    assert {"miou", "pixel_accuracy", "class_accuracy", "per_class_iou", "images", "seconds"} <= set(r)
    assert r["images"] == 3 and r["ignored_label"] == 11
    assert list(r["per_class_iou"])[:2] == ["Sky", "Building"] and len(r["per_class_iou"]) == 11
    assert 70.0 < r["pixel_accuracy"] <= 100.0
    ious = [v for v in r["per_class_iou"].values() if v is not None]
    assert r["miou"] == pytest.approx(sum(ious) / len(ious), abs=1e-3)


def test_table_report(shared_camvid, capsys):
    camvid, weights = shared_camvid
    assert main(["segment-eval", "--root", str(camvid), "--weights", str(weights), "--limit", "1",
                 "--device", "cpu", "--no-progress"]) == 0
    out = capsys.readouterr().out
    for words in ("mIoU", "pixel accuracy", "class-average accuracy", "void", "ignored", "Bicyclist"):
        assert words in out


def test_missing_weights_named(camvid_dir, tmp_path, capsys):
    missing = tmp_path / "none.pth"
    code = main(["segment-eval", "--root", str(camvid_dir), "--weights", str(missing), "--limit", "1"])
    assert code == 2
    assert str(missing) in capsys.readouterr().err


def test_unknown_segmenter(camvid_dir, capsys):
    assert main(["segment-eval", "--root", str(camvid_dir), "--segmenter", "nope", "--limit", "1"]) == 2
    assert "espnet" in capsys.readouterr().err
