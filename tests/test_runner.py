"""The runner end to end on tiny real photos: storing, skipping, unreachable targets, failures, timeouts,
fixed-rate codecs, artifacts and the process pool."""

from __future__ import annotations

import dataclasses
import io
import math
import time

import numpy as np
import pytest
from PIL import Image

from codecbench.codecs import registry
from codecbench.codecs.spec import CodecSpec
from codecbench.report import reports
from codecbench.run.runner import RunError, plan_suite, run_suite
from codecbench.run.store import Store
from codecbench.run.suite import parse_suite


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(np.ascontiguousarray(data.astronaut()[100:196, 150:246])).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(data.coffee()[50:146, 200:296])).save(folder / "b.png")
    return folder


def suite(photos, codecs=("jpeg",), targets=(0.5, 1.0), **head):
    doc = {"suite": {"name": "t", "targets": list(targets), "metrics": ["psnr", "ssim"], "workers": 1, **head},
           "datasets": [{"name": "folder", "root": str(photos)}],
           "codecs": [c if isinstance(c, dict) else {"name": c} for c in codecs]}
    return parse_suite(doc)


def run(s, store, **kw):
    return run_suite(s, store=store, progress=False, log=lambda _: None, **kw)


# --- test doubles (registered only for the duration of a test) --------------------------------------------------

def _png_encode(image, knob, settings):
    if settings.get("fail_on_width") == image.shape[1] and settings.get("fail_on_mean") == int(image.mean()):
        raise RuntimeError("double refuses this image")
    if settings.get("sleep"):
        time.sleep(settings["sleep"])
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _png_decode(data, settings):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _double(name, knob=None, unavailable=None, **defaults):
    return CodecSpec(name=name, summary="test double: lossless PNG", library="Pillow PNG (test double)",
                     version=lambda: "0", knob=knob, encode=_png_encode, decode=_png_decode,
                     defaults={"fail_on_width": 0, "fail_on_mean": -1, "sleep": 0.0, **defaults},
                     unavailable=unavailable or (lambda s: None))


@pytest.fixture()
def doubles(monkeypatch):
    registry.register("png_double", _double("png_double"), replace=True)
    registry.register("absent_double", _double("absent_double", unavailable=lambda s: "no binary"), replace=True)
    yield
    registry.REGISTRY.unregister("png_double")
    registry.REGISTRY.unregister("absent_double")


# --- tests --------------------------------------------------------------------------------------------------------

def test_run_stores_every_point_and_a_rerun_computes_nothing(photos, tmp_path):
    s = suite(photos)
    first = run(s, tmp_path)
    assert (first.planned, first.computed, first.ok, first.failed) == (4, 4, 4, 0)
    assert first.work_s > 0 and first.exit_code == 0
    again = run(s, tmp_path)
    assert (again.already, again.computed) == (4, 0)
    with Store(tmp_path, read_only=True) as db:
        recs = list(db.records())
    r = recs[0]
    for field in ("dataset", "image_id", "width", "height", "codec", "codec_version", "library", "settings", "knob",
                  "target_bpp", "bpp", "bytes", "encode_s", "decode_s", "metric_s", "encodes", "device", "time",
                  "codecbench_version", "git_commit", "error", "image_hash"):
        assert field in r, field
    assert r["width"] == 96 and r["bpp"] <= r["target_bpp"] and r["bpp"] == 8 * r["bytes"] / (96 * 96)
    assert 20 < r["metrics"]["psnr"] < 60


def test_unreachable_target_is_recorded_and_kept_out_of_the_means(photos, tmp_path):
    summary = run(suite(photos, targets=(0.001, 1.0)), tmp_path)
    assert summary.unreachable == 2 and summary.ok == 2
    with Store(tmp_path, read_only=True) as db:
        low = [r for r in db.records() if r["target_bpp"] == 0.001]
    assert all(r["status"] == "unreachable" and r["min_bpp"] == r["bpp"] > 0.001 for r in low)
    agg = reports.aggregate(reports.load_points(tmp_path))
    row = agg[agg.target == "0.001"].iloc[0]
    assert row.n == 0 and row.unreachable == 2 and math.isnan(row.psnr)


def test_failed_point_is_recorded_the_run_goes_on_and_a_rerun_retries(photos, tmp_path, doubles):
    from codecbench.imageio import load_rgb

    img = load_rgb(photos / "a.png")
    bad = {"name": "png_double", "settings": {"fail_on_width": 96, "fail_on_mean": int(img.mean())}}
    s = suite(photos, codecs=(bad,))
    summary = run(s, tmp_path)
    assert (summary.ok, summary.failed, summary.exit_code) == (1, 1, 1)
    assert "double refuses this image" in summary.errors[0]
    with Store(tmp_path, read_only=True) as db:
        (err,) = list(db.records(status=["error"]))
    assert err["error"].startswith("RuntimeError") and err["image_id"] == "a"
    assert run(s, tmp_path).computed == 1  # only the failed point is tried again


def test_fixed_rate_codec_runs_once_per_image_and_lossless_psnr_round_trips(photos, tmp_path, doubles):
    summary = run(suite(photos, codecs=("png_double",), targets=(0.1, 0.5, 1.0)), tmp_path)
    assert summary.planned == 2
    with Store(tmp_path, read_only=True) as db:
        recs = list(db.records())
    assert {r["target"] for r in recs} == {"fixed"} and all(r["target_bpp"] is None for r in recs)
    assert all(r["metrics"]["psnr"] == math.inf and r["knob"] is None for r in recs)


def test_unavailable_codec_is_skipped_unless_required(photos, tmp_path, doubles):
    s = suite(photos, codecs=("jpeg", "absent_double"))
    plan = plan_suite(s, log=lambda _: None)
    assert [x.label for x in plan.skipped] == ["absent_double"] and "no binary" in plan.skipped[0].reason
    req = suite(photos, codecs=("jpeg", {"name": "absent_double", "required": True}))
    with pytest.raises(RunError, match="absent_double"):
        plan_suite(req, log=lambda _: None)
    with pytest.raises(RunError, match="unknown setting"):
        plan_suite(suite(photos, codecs=({"name": "jpeg", "settings": {"nonsense": 1}},)), log=lambda _: None)


def test_a_point_over_its_time_limit_fails_with_a_timeout(photos, tmp_path, doubles):
    s = suite(photos, codecs=({"name": "png_double", "settings": {"sleep": 3.0}},), timeout=0.3)
    t0 = time.perf_counter()
    summary = run(s, tmp_path)
    assert summary.failed == 2 and "JobTimeout" in summary.errors[0]
    assert time.perf_counter() - t0 < 5


def test_keep_writes_bitstreams_and_decoded_images(photos, tmp_path):
    run(suite(photos, targets=(0.5,)), tmp_path / "s", keep=True)
    bins = sorted((tmp_path / "s" / "artifacts").rglob("*.bin"))
    pngs = sorted((tmp_path / "s" / "artifacts").rglob("*.png"))
    assert len(bins) == 2 and len(pngs) == 2
    with Store(tmp_path / "s", read_only=True) as db:
        sizes = sorted(r["bytes"] for r in db.records())
    assert sorted(b.stat().st_size for b in bins) == sizes
    assert np.asarray(Image.open(pngs[0])).shape == (96, 96, 3)


def test_process_pool_gives_the_in_process_points_and_gpu_jobs_get_one_worker(photos, tmp_path):
    import os

    from codecbench.run.executors import create

    s = suite(photos, codecs=("jpeg", "webp"), targets=(0.5,))
    jobs = plan_suite(s, log=lambda _: None).jobs
    jobs = [dataclasses.replace(j, needs_gpu=(i % 2 == 0)) for i, j in enumerate(jobs)]  # pretend half need a GPU
    with create("local", workers=1) as ex:
        serial = {j.key: r for j, r in ex.run(jobs)}
    with create("local", workers=2) as ex:
        pooled = list(ex.run(jobs))
    assert len(pooled) == 4 and all(r["status"] == "ok" for _, r in pooled)
    for j, r in pooled:
        assert (r["bpp"], r["metrics"]) == (serial[j.key]["bpp"], serial[j.key]["metrics"])
    gpu_pids = {r["worker_pid"] for j, r in pooled if j.needs_gpu}
    cpu_pids = {r["worker_pid"] for j, r in pooled if not j.needs_gpu}
    assert len(gpu_pids) == 1 and not gpu_pids & cpu_pids and os.getpid() not in gpu_pids | cpu_pids


def test_unknown_executor_is_a_clear_error():
    from codecbench.run.executors import create

    with pytest.raises(ValueError, match="unknown executor 'nope'"):
        create("nope")


def test_recompute_deletes_and_measures_one_codec_again(photos, tmp_path):
    s = suite(photos, codecs=("jpeg", "webp"), targets=(0.5,))
    run(s, tmp_path)
    again = run(s, tmp_path, recompute=["webp"])
    assert (again.already, again.computed) == (2, 2)
    with Store(tmp_path, read_only=True) as db:
        assert db.count() == 4
    with pytest.raises(RunError, match="nope"):
        run(s, tmp_path, recompute=["nope"])
