"""Job groups (codecbench.run.groups): all targets of one image and codec in one job with shared rate-control
probes give the same points as one job per target, with fewer encodes; batched segmentation; failures split
per target; the runner with and without grouping stores the same table."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from codecbench.datasets import ImageRef, load_dataset
from codecbench.report import reports
from codecbench.run.groups import JobGroup, execute_group, expand, group_jobs
from codecbench.run.jobs import Job, execute_job
from codecbench.run.point_keys import codec_key_of
from codecbench.run.runner import run_suite
from codecbench.run.suite import parse_suite
from codecbench.run.worker_cache import bound_codec

TARGETS = (0.125, 0.25, 0.5, 1.0)


def _key(codec: str) -> str:
    """The real codec key (execute_job refuses a job whose key its own bind does not give)."""
    return codec_key_of(bound_codec(codec, ()).describe())


def _jobs(ref: ImageRef, codec: str = "jpeg", targets=TARGETS, **kw) -> list[Job]:
    return [Job(image=ref, codec=codec, settings=(), codec_label=codec, codec_key=_key(codec), target_bpp=t,
                metrics=("psnr", "ssim", "ms_ssim"), **kw) for t in targets]


@pytest.fixture(scope="module")
def embedded():
    return load_dataset("embedded", limit=2).images


def test_grouping_rules(embedded):
    a, b = embedded
    jobs = _jobs(a, targets=(0.5, 0.125)) + _jobs(b, targets=(0.25,)) + _jobs(a, "webp", (1.0, 0.25))
    sweep = Job(image=a, codec="jpeg", settings=(), codec_label="jpeg", codec_key=_key("jpeg"), target_bpp=None,
                knob=30.0, metrics=())
    units = group_jobs(jobs + [sweep])
    assert [type(u).__name__ for u in units] == ["JobGroup", "Job", "JobGroup", "Job"]
    assert [j.target_bpp for j in units[0].jobs] == [0.125, 0.5]  # ascending
    assert units[1] is jobs[2] and units[3] is sweep
    g = units[0]
    assert g.image == a and g.codec == "jpeg" and not g.needs_gpu and g.key.startswith("group:")
    assert pickle.loads(pickle.dumps(g)) == g


def test_group_gives_the_points_of_separate_jobs_with_fewer_encodes(embedded):
    jobs = _jobs(embedded[0])
    alone = [execute_job(j) for j in jobs]
    grouped = execute_job(JobGroup(tuple(jobs)))  # what an executor calls
    assert isinstance(grouped, list) and len(grouped) == len(jobs)
    for job, a, g in zip(jobs, alone, grouped):
        assert g["status"] == a["status"] == "ok" and g["key"] == a["key"] == job.key
        assert (g["knob"], g["bytes"], g["bpp"]) == (a["knob"], a["bytes"], a["bpp"])
        assert g["metrics"] == a["metrics"]
        assert g["encodes"] == len(g["trials"]) and g["encode_s"] >= 0
    seen = [k for g in grouped for k, _ in g["trials"]]
    assert len(seen) == len(set(seen))  # no setting encoded twice for the image
    assert sum(g["encodes"] for g in grouped) < sum(a["encodes"] for a in alone)


def test_one_bad_target_fails_alone(embedded):
    jobs = _jobs(embedded[0], targets=(0.25, 0.5))
    bad = Job(image=embedded[0], codec="jpeg", settings=(), codec_label="jpeg", codec_key=_key("jpeg"), target_bpp=0.5,
              metrics=("vmaf",))  # an unknown metric: this point fails, its neighbour does not
    recs = execute_group(JobGroup((jobs[0], bad)))
    assert recs[0]["status"] == "ok"
    assert recs[1]["status"] == "error" and "vmaf" in recs[1]["error"]


def test_unreadable_image_fails_every_target(tmp_path):
    ref = ImageRef(dataset="folder", id="gone", path=str(tmp_path / "gone.png"), hash="0" * 16)
    recs = execute_group(JobGroup(tuple(_jobs(ref, targets=(0.25, 0.5)))))
    assert [r["status"] for r in recs] == ["error", "error"] and all(r["error"] for r in recs)


def test_expand_splits_a_whole_group_failure(embedded):
    jobs = _jobs(embedded[0], targets=(0.25, 0.5))
    pairs = list(expand(JobGroup(tuple(jobs)), {"status": "error", "error": "WorkerCrashed: gone"}))
    assert [j for j, _ in pairs] == jobs
    assert [r["key"] for _, r in pairs] == [j.key for j in jobs]
    assert all(r["status"] == "error" and r["error"] == "WorkerCrashed: gone" for _, r in pairs)


def test_runner_with_and_without_groups_stores_the_same_table(tmp_path):
    from skimage import data

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:200, :200])).save(folder / "a.png")
    doc = {"suite": {"name": "g", "targets": [0.25, 0.5, 1.0], "metrics": ["psnr", "ms_ssim"]},
           "datasets": [{"name": "folder", "root": str(folder)}], "codecs": [{"name": "jpeg"}, {"name": "jpeg2000"}]}
    tables, encodes = [], []
    for grouped in (True, False):
        store = tmp_path / f"store-{grouped}"
        summary = run_suite(parse_suite(doc), store=store, progress=False, log=lambda _: None,
                            group_targets=grouped)
        assert summary.computed == summary.ok == 6
        points = reports.load_points(store)
        tables.append(reports.to_csv(reports.aggregate(points)))
        encodes.append(points["encodes"].sum())
    assert tables[0] == tables[1]
    assert encodes[0] < encodes[1]


@pytest.mark.parametrize("batch", [None, True], ids=["auto-cpu-per-frame", "forced-batch"])
def test_group_segmentation_matches_single_frames(camvid_dir, espnet_weights, batch, monkeypatch):
    from codecbench.run import groups

    if batch:  # the CUDA path (one batch per group), forced here on the CPU
        real = groups._segment_batch
        monkeypatch.setattr(groups, "_segment_batch", lambda pending: real(pending, batch=True))
    ref = load_dataset("camvid", split="test", limit=1).images[0]
    opts = (("device", "cpu"), ("weights", str(espnet_weights)))
    jobs = _jobs(ref, targets=(0.25, 0.5), segmenter="espnet", segmenter_options=opts)
    alone = [execute_job(j) for j in jobs]
    grouped = execute_group(JobGroup(tuple(jobs)))
    for a, g in zip(alone, grouped):
        assert a["status"] == g["status"] == "ok", (a.get("error"), g.get("error"))
        assert g["segment_batch"] == (2 if batch else 1) and g["segment_s"] > 0
        assert g["metric_s"] >= g["segment_s"] + g["fidelity_s"] - 1e-9
        ca, cg = np.asarray(a["confusion"]), np.asarray(g["confusion"])
        assert ca.sum() == cg.sum()
        assert np.abs(ca - cg).sum() <= 1e-3 * ca.sum()  # batch vs single forward pass: float rounding only
        assert g["metrics"]["miou"] == pytest.approx(a["metrics"]["miou"], abs=1e-3)


def test_targets_on_the_same_stream_share_decode_scores_and_segmentation(camvid_dir, espnet_weights):
    """Unreachable targets all end on the lowest-rate setting: one decode, one set of scores and one ESPNet pass
    for the group, and every record equal to the one its own job computes alone."""
    ref = load_dataset("camvid", split="test", limit=1).images[0]
    opts = (("device", "cpu"), ("weights", str(espnet_weights)))
    jobs = _jobs(ref, targets=(0.001, 0.002, 0.5), segmenter="espnet", segmenter_options=opts)
    alone = [execute_job(j) for j in jobs]
    grouped = execute_group(JobGroup(tuple(jobs)))
    assert [g["status"] for g in grouped] == ["unreachable", "unreachable", "ok"]
    assert grouped[0].get("same_stream_as") is None and grouped[2].get("same_stream_as") is None
    assert grouped[1]["same_stream_as"] == jobs[0].target
    for a, g in zip(alone, grouped):
        assert (g["knob"], g["bytes"]) == (a["knob"], a["bytes"])
        assert g["metrics"] == a["metrics"]
        assert g["confusion"] == a["confusion"]
    assert grouped[1]["segment_s"] < grouped[0]["segment_s"] and grouped[1]["fidelity_s"] < grouped[0]["fidelity_s"]
    assert "same_stream_as" not in alone[1].to_dict()  # only a group shares
