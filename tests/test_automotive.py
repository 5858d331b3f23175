"""The automotive-camvid study: its suite file, the `stride` subset, the same-frame figure, the table at one
target, the GAN curve merge, stage timing and stale-checkpoint cleanup. Real codecs on tiny real photos; the
CamVid + ESPNet test skips where ../shared is absent."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from codecbench.cli.main import main
from codecbench.report.figures import FigureError, colourise, frame_panels, write_frame_figure
from codecbench.run.runner import plan_suite, run_suite
from codecbench.run.suite import SuiteError, load_suite, parse_suite
from codecbench.studies import automotive

SUITE_FILE = Path(__file__).resolve().parents[1] / "codecbench" / "suites" / "automotive-camvid.toml"


def test_suite_file_is_the_issue_six_study():
    s = load_suite(SUITE_FILE)
    assert s.name == "automotive-camvid"
    assert 0.0625 in s.targets and min(s.targets) <= 0.035 and max(s.targets) >= 0.5
    assert {"psnr", "ssim", "ms_ssim"} <= set(s.metrics)
    assert s.segmenter is not None and s.segmenter.name == "espnet"
    # the file itself runs the full test split; subsets are chosen on the command line
    assert [(d.name, d.split, d.limit, d.stride) for d in s.datasets] == [("camvid", "test", None, None)]
    names = {c.name for c in s.codecs}
    assert {"jpeg", "jpeg2000", "webp", "heic", "avif", "jpegxl", "bpg", "gan"} <= names
    assert s.anchor == "JPEG 2000"
    gan = [c for c in s.codecs if c.name == "gan"]
    for c in gan:
        m = re.match(r"GAN F(\d+) L(\d+)", c.label)  # the label names the checkpoint's F and L
        assert m and c.settings["checkpoint"].startswith(f"gan_f{m[1]}_l{m[2]}"), c.label
        assert c.settings.get("device") == "cpu"
    assert "GAN F8 L4" in {c.label for c in gan}


def test_every_shipped_gan_checkpoint_has_an_entry():
    from codecbench.codecs.gan.checkpoint import shipped_names

    in_suite = {c.settings.get("checkpoint") for c in load_suite(SUITE_FILE).codecs if c.name == "gan"}
    missing = set(shipped_names()) - in_suite
    assert not missing, f"add an entry to {SUITE_FILE.name} for the shipped checkpoint(s) {sorted(missing)}"


def _doc(**dataset):
    return {"suite": {"name": "t", "targets": [0.25], "metrics": ["psnr"]},
            "datasets": [{"name": "embedded", **dataset}], "codecs": [{"name": "jpeg"}]}


def test_stride_keeps_every_kth_image():
    full = plan_suite(parse_suite(_doc()), log=lambda _: None)
    every2 = plan_suite(parse_suite(_doc(stride=2)), log=lambda _: None)
    ids = [j.image.id for j in full.jobs]
    assert [j.image.id for j in every2.jobs] == ids[::2]
    assert parse_suite(_doc(stride=3)).datasets[0].stride == 3
    with pytest.raises(SuiteError, match=r"datasets\[0\]\.stride"):
        parse_suite(_doc(stride=0))


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """A real run: 2 crops of scikit-image photos × JPEG and JPEG 2000 at 0.25 and 1 bpp."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(np.ascontiguousarray(data.astronaut()[100:292, 150:342])).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(data.coffee()[50:242, 200:392])).save(folder / "b.png")
    doc = {"suite": {"name": "t", "targets": [0.25, 1.0], "metrics": ["psnr", "ssim"], "workers": 1},
           "datasets": [{"name": "folder", "root": str(folder)}],
           "codecs": [{"name": "jpeg", "label": "JPEG"}, {"name": "jpeg2000", "label": "JPEG 2000"}]}
    store = tmp_path_factory.mktemp("store") / "store.sqlite"
    summary = run_suite(parse_suite(doc), store=store, progress=False, log=lambda _: None)
    assert summary.failed == 0
    return store


def test_frame_panels_reencode_the_stored_points(small_store, tmp_path):
    panels = frame_panels(small_store, image_id="b", target=0.25)
    assert [p.title for p in panels[1:]] == ["JPEG", "JPEG 2000"]
    assert panels[0].ref is not None and panels[0].ref.id == "b"
    for p in panels[1:]:
        assert p.image.shape == panels[0].image.shape == (192, 192, 3)
        assert p.record["image_id"] == "b" and p.record["target"] == repr(0.25)
        assert not any("re-encode" in n for n in p.notes), p.notes  # same bytes as the stored point
        assert f"{p.record['bpp']:.4f} bpp" in p.caption
        assert np.abs(p.image.astype(int) - panels[0].image.astype(int)).mean() > 0.5  # really lossy
    out = write_frame_figure(panels, tmp_path / "f.png", columns=2)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 300 and im.height > 300
    assert main(["frames", str(small_store), "--image", "a", "--target", "1.0", "--codec", "JPEG",
                 "-o", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").is_file()


def test_frame_panels_errors_name_what_is_missing(small_store):
    with pytest.raises(FigureError, match="no point for image 'zzz'"):
        frame_panels(small_store, image_id="zzz")
    with pytest.raises(FigureError, match="WebP"):
        frame_panels(small_store, image_id="a", target=0.25, labels=["JPEG", "WebP"])
    with pytest.raises(FigureError, match="JPEG"):
        frame_panels(small_store, image_id="a", target=0.5)  # no point at this target


def test_colourise_camvid_palette_and_void():
    from codecbench.datasets import CAMVID_CLASSES

    lab = np.array([[0, 3], [11, 10]])
    rgb = colourise(lab, 11, CAMVID_CLASSES)
    assert rgb[0, 0].tolist() == [128, 128, 128] and rgb[0, 1].tolist() == [128, 64, 128]
    assert rgb[1, 0].tolist() == [0, 0, 0] and rgb[1, 1].tolist() == [0, 128, 192]
    other = colourise(np.array([[0, 1, 255]]), 2)
    assert other[0, 0].tolist() != other[0, 1].tolist() and other[0, 2].tolist() == [0, 0, 0]


def _pt(codec, target, bpp, status="ok", psnr=30.0, miou=50.0, **kw):
    return {"codec": codec, "target": target, "target_bpp": float(target) if target != "fixed" else None,
            "bpp": bpp, "status": status, "psnr": psnr, "ssim": 0.8, "ms_ssim": 0.9, "miou": miou, **kw}


def test_table_at_counts_unreachable_frames_and_picks_gan_rows_by_nominal_rate():
    pts = pd.DataFrame([
        _pt("JPEG", "0.0625", 0.08, "unreachable", psnr=24.0), _pt("JPEG", "0.0625", 0.06, psnr=26.0),
        _pt("JPEG", "0.125", 0.12, psnr=28.0),
        _pt("JPEG 2000", "0.0625", 0.061), _pt("JPEG 2000", "0.0625", 0.062),
        _pt("GAN F8 L4", "fixed", 0.05, psnr=17.0), _pt("GAN F8 L4", "fixed", 0.07, psnr=19.0),
        _pt("GAN F4 L4", "fixed", 0.03), _pt("GAN F8 L4", "fixed", None, "error"),
    ])
    details = {"GAN F8 L4": {"nominal_bpp": 0.0625}, "GAN F4 L4": {"nominal_bpp": 0.03125}}
    t = automotive.table_at(pts, 0.0625, details).set_index("codec")
    assert list(t.index) == ["JPEG", "JPEG 2000", "GAN F8 L4"]  # F4 L4 is half the rate: not in the table
    assert t.loc["JPEG", "frames"] == 2 and t.loc["JPEG", "at_target"] == 1
    assert t.loc["JPEG", "bpp"] == pytest.approx(0.07) and t.loc["JPEG", "psnr"] == pytest.approx(25.0)
    assert t.loc["GAN F8 L4", "psnr"] == pytest.approx(18.0) and t.loc["GAN F8 L4", "at_target"] == 1
    assert t.loc["GAN F8 L4", "failed"] == 1 and t.loc["JPEG", "failed"] == 0
    assert math.isnan(t.loc["JPEG", "miou_dataset"])  # no confusion matrices in this frame
    md = automotive.table_markdown(t.reset_index(), 0.0625)
    assert "| JPEG | 2 | 1 | 0.0700 | 25.00 |" in md and "34.03 dB" in md


def test_merge_curves_joins_quantized_gan_checkpoints_only():
    agg = pd.DataFrame({"codec": ["GAN F4 L4", "GAN F8 L4", "GAN F8 L4 no-quant", "JPEG"],
                        "target": ["fixed", "fixed", "fixed", "0.25"], "n": [2, 2, 2, 2],
                        "unreachable": [0] * 4, "failed": [0] * 4, "bpp": [0.03, 0.06, 0.06, 0.25],
                        "psnr": [15.0, 17.0, 16.0, 30.0]})
    groups = automotive.gan_curve_groups(agg["codec"])
    assert set(groups) == {"GAN F4 L4", "GAN F8 L4"}
    from codecbench.report.reports import curves

    cs = curves(automotive.merge_curves(agg, groups), "psnr")
    assert cs[automotive.GAN_CURVE][0].tolist() == [0.03, 0.06]
    assert "GAN F8 L4 no-quant" in cs and "GAN F8 L4" not in cs


def test_an_equal_budget_twin_takes_the_longer_trained_checkpoints_place_on_the_curve():
    labels = ["GAN F4 L4", "GAN F8 L4", "GAN F8 L4 (equal budget)", "GAN F8 L4 no-quant", "JPEG"]
    groups = automotive.gan_curve_groups(labels)
    assert set(groups) == {"GAN F4 L4", "GAN F8 L4 (equal budget)"}


def test_stage_times_sum_per_codec_and_fall_back_to_metric_s():
    pts = pd.DataFrame([
        {"codec": "A", "rate_s": 1.0, "decode_s": 0.1, "fidelity_s": 0.5, "segment_s": 2.0, "metric_s": 2.5},
        {"codec": "A", "rate_s": 2.0, "decode_s": 0.1, "fidelity_s": 0.5, "segment_s": 2.0, "metric_s": 2.5},
        {"codec": "B", "rate_s": 1.0, "decode_s": 0.2, "fidelity_s": None, "segment_s": None, "metric_s": 0.7},
    ])
    st = automotive.stage_times(pts).set_index("codec")
    assert st.loc["A", "rate_s"] == pytest.approx(3.0) and st.loc["A", "total_s"] == pytest.approx(8.2)
    assert st.loc["B", "fidelity_s"] == pytest.approx(0.7)
    assert st.loc["all", "points"] == 3 and st.loc["all", "total_s"] == pytest.approx(10.1)
    md = automotive.timing_markdown(st.reset_index(), [{"started": "x", "wall_s": 5.0, "computed": 3}])
    assert "Total wall time of the runs: 5 s for 3 points" in md


def test_camvid_two_frames_with_espnet(camvid_dir, espnet_weights, tmp_path):
    """End to end on 2 CamVid test frames (0 and 117): JPEG 2000 at 0.0625 bpp, ESPNet mIoU, the study outputs
    and the frame figure with predictions."""
    doc = {"suite": {"name": "t", "targets": [0.0625], "metrics": ["psnr", "ssim"], "workers": 1},
           "datasets": [{"name": "camvid", "split": "test", "stride": 117}],
           "segmenter": {"name": "espnet", "options": {"device": "cpu"}},
           "codecs": [{"name": "jpeg2000", "label": "JPEG 2000"}]}
    store = tmp_path / "store.sqlite"
    summary = run_suite(parse_suite(doc), store=store, progress=False, log=lambda _: None)
    assert summary.ok == 2
    written = automotive.write_study(store, anchor="JPEG 2000")
    assert {p.name for p in written} >= {"table_0.0625.md", "timing.md", "rd_gan_curve.png"}
    t = pd.read_csv(tmp_path / "table_0.0625.csv").set_index("codec")
    assert t.loc["JPEG 2000", "frames"] == 2 and 0 < t.loc["JPEG 2000", "miou_dataset"] < 100
    assert 0.05 < t.loc["JPEG 2000", "bpp"] <= 0.0625
    panels = frame_panels(store, image_id="0001TP_008550", target=0.0625)
    out = write_frame_figure(panels, tmp_path / "frames.png", segmenter="espnet",
                             segmenter_options={"device": "cpu", "weights": str(espnet_weights)})
    assert out.is_file()
    assert panels[1].prediction is not None and panels[1].prediction.shape == (360, 480)
    # the stored per-image mIoU was measured on the same decoded frame the figure re-encodes
    from codecbench.datasets import load_label
    from codecbench.metrics.segmenters import registry as segreg

    cm = segreg.confusion(panels[1].prediction, load_label(panels[0].ref), 11, 11)
    assert segreg.scores(cm).miou == pytest.approx(panels[1].record["metrics"]["miou"], abs=1e-6)
