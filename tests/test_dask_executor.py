"""The Dask executor on real LocalClusters (2 worker processes, 1 thread each) with JPEG on small real photos:
the same table as the local executor, a worker killed midway (its jobs re-run elsewhere and reported), GPU
routing by resource, resubmission of a task that raised, the bounded window, the CLI/suite options, and a clear
error naming the extra when dask is absent. No timing is asserted."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'codecbench[dask]')")

from store_probe import stored_points  # noqa: E402

from codecbench.report import reports  # noqa: E402
from codecbench.run import executors
from codecbench.run.runner import plan_suite, run_suite  # noqa: E402
from codecbench.run.store import Store  # noqa: E402
from codecbench.run.suite import parse_suite  # noqa: E402

TARGETS = [0.4, 0.8, 1.2, 1.8]
N_IMAGES = 3
TIMEOUT = 240  # generous: the machine is small and shared


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three 176×176 crops of photos shipped with scikit-image (PNG)."""
    from skimage import data

    folder = tmp_path_factory.mktemp("dask_photos")
    src = [data.astronaut(), data.coffee(), data.chelsea()]
    for i in range(N_IMAGES):
        y, x = 20 * i, 30 * i
        Image.fromarray(np.ascontiguousarray(src[i % 3][y:y + 176, x:x + 176])).save(folder / f"p{i}.png")
    return folder


def make_suite(photos, **head):
    doc = {"suite": {"name": "dask-test", "targets": TARGETS, "metrics": ["psnr", "ssim", "ms_ssim"],
                     "workers": 2, **head},
           "datasets": [{"name": "folder", "root": str(photos)}],
           "codecs": [{"name": "jpeg"}]}
    return parse_suite(doc)


def run(suite, store, **kw):
    return run_suite(suite, store=store, progress=False, log=lambda _: None, **kw)


def points(store) -> dict[str, tuple]:
    """key -> (status, bytes, bpp, metrics) of every stored point."""
    with Store(store, read_only=True) as db:
        return {r["key"]: (r["status"], r["bytes"], r["bpp"], r["metrics"]) for r in db.records()}


def table(store) -> str:
    """The aggregated table, computed from the points in key order (so completion order does not matter)."""
    pts = reports.load_points(store).sort_values("key").reset_index(drop=True)
    return reports.to_csv(reports.aggregate(pts))


@pytest.fixture(scope="module")
def local_store(photos, tmp_path_factory):
    store = tmp_path_factory.mktemp("local") / "store.sqlite"
    summary = run(make_suite(photos), store, workers=1, executor="local")
    assert summary.failed == 0 and summary.computed == N_IMAGES * len(TARGETS)
    return store


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster made by the test, reached by address like a remote one."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as c:
        yield c


def test_two_worker_local_cluster_gives_the_local_table(photos, local_store, tmp_path):
    store = tmp_path / "store.sqlite"
    summary = run(make_suite(photos, executor="dask"), store, workers=2)

    assert summary.executor == "dask" and summary.workers == 2
    assert summary.failed == 0 and summary.computed == N_IMAGES * len(TARGETS)
    assert points(store) == points(local_store)  # same points, identical values (bpp, PSNR, SSIM, MS-SSIM)
    assert table(store) == table(local_store)
    with Store(store, read_only=True) as db:
        recs = list(db.records())
    assert {r["executor"] for r in recs} == {"dask"} and {r["attempts"] for r in recs} == {1}
    assert os.getpid() not in {r["worker_pid"] for r in recs}  # measured in the worker processes
    text = "\n".join(summary.lines())
    assert "LocalCluster" in text and "0 point(s) re-run" in text
    second = run(make_suite(photos, executor="dask"), store, workers=2)  # nothing left: no cluster, nothing computed
    assert second.computed == 0 and second.already == N_IMAGES * len(TARGETS)


def _kill_a_busy_worker(address: str, store, killed: dict) -> None:
    """Once two points are stored, SIGKILL a worker process the scheduler says is processing a task."""
    from distributed import Client

    with Client(address, timeout=60) as client:
        deadline = time.monotonic() + TIMEOUT
        while stored_points(store) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        while time.monotonic() < deadline and stored_points(store) < N_IMAGES * len(TARGETS):
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                killed["stored_before"] = stored_points(store)
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
                return
            time.sleep(0.02)


def test_worker_killed_midway_jobs_rerun_elsewhere_and_reported(photos, local_store, cluster, tmp_path):
    store = tmp_path / "store.sqlite"
    suite = make_suite(photos, executor="dask")
    killed: dict = {}
    killer = threading.Thread(target=_kill_a_busy_worker, args=(cluster.scheduler_address, store, killed))
    killer.start()
    try:
        # one task per point (no job groups): twelve short tasks leave the killer a busy worker to find while
        # points remain, where three grouped tasks could all finish between two of its looks
        summary = run(suite, store, executor_options={"scheduler": cluster.scheduler_address}, group_targets=False)
    finally:
        killer.join(TIMEOUT)
    assert "pid" in killed, "no worker was busy while points remained"
    assert killed["stored_before"] < N_IMAGES * len(TARGETS)

    # nothing lost, nothing stored twice, the same table as an uninterrupted local run
    assert summary.failed == 0 and summary.computed == N_IMAGES * len(TARGETS)
    assert points(store) == points(local_store)
    assert table(store) == table(local_store)

    # the retry is reported: in the summary and, per point, in the records (attempts > 1)
    with Store(store, read_only=True) as db:
        recs = list(db.records())
    rerun = [r for r in recs if r["attempts"] > 1]
    assert rerun, "the killed worker's tasks should have been re-run"
    assert all(r["worker_pid"] != killed["pid"] for r in rerun)  # redone elsewhere
    text = "\n".join(summary.lines())
    assert f"{len(rerun)} point(s) re-run after their worker was lost (1 worker(s) lost)" in text


def test_gpu_jobs_run_only_on_the_worker_offering_the_gpu_resource(photos):
    plan = plan_suite(make_suite(photos), log=lambda _: None)
    jobs = [dataclasses.replace(j, needs_gpu=i % 2 == 0) for i, j in enumerate(plan.jobs[:6])]
    with executors.create("dask", workers=1) as ex:
        out = list(ex.run(jobs))
        assert ex.stats["cpu_threads"] == 1 and ex.stats["gpu_threads"] == 1
    assert sorted(j.key for j, _ in out) == sorted(j.key for j in jobs)
    assert all(r["status"] in ("ok", "unreachable") for _, r in out)
    gpu_pids = {r["worker_pid"] for j, r in out if j.needs_gpu}
    cpu_pids = {r["worker_pid"] for j, r in out if not j.needs_gpu}
    assert len(gpu_pids) == 1 and not gpu_pids & cpu_pids


def test_gpu_jobs_without_a_gpu_worker_fail_with_how_to_start_one(photos, cluster):
    plan = plan_suite(make_suite(photos), log=lambda _: None)
    jobs = [dataclasses.replace(plan.jobs[0], needs_gpu=True), plan.jobs[1]]
    with executors.create("dask", scheduler=cluster.scheduler_address, gpu_wait_s=0) as ex:
        out = dict((j.key, r) for j, r in ex.run(jobs))
    assert out[jobs[1].key]["status"] in ("ok", "unreachable")
    err = out[jobs[0].key]
    assert err["status"] == "error" and "--resources GPU=1" in err["error"]


def test_window_bounds_the_futures_in_flight(photos, cluster):
    plan = plan_suite(make_suite(photos), log=lambda _: None)
    with executors.create("dask", scheduler=cluster.scheduler_address, window=3) as ex:
        out = list(ex.run(plan.jobs))
    assert sorted(j.key for j, _ in out) == sorted(j.key for j in plan.jobs)
    assert ex.stats["submitted"] == len(plan.jobs) > 3
    assert ex.stats["peak_in_flight"] == 3


def test_missing_dask_gives_an_error_naming_the_extra(monkeypatch):
    for mod in [m for m in sys.modules if m == "distributed" or m.startswith("distributed.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ValueError, match=r"codecbench\[dask\]"):
        executors.create("dask", workers=2)


def test_default_install_does_not_import_dask():
    code = ("import sys, codecbench.run.runner, codecbench.run.executors.dask, codecbench.cli.main; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_suite_executor_table_and_bad_options(photos, tmp_path):
    suite = parse_suite({"suite": {"name": "x", "targets": [0.5]},
                         "datasets": [{"name": "folder", "root": str(photos)}], "codecs": [{"name": "jpeg"}],
                         "executor": {"name": "dask", "scheduler": "tcp://127.0.0.1:1", "window": 8}})
    assert suite.executor == "dask" and suite.executor_options == {"scheduler": "tcp://127.0.0.1:1", "window": 8}
    from codecbench.run.runner import RunError

    with pytest.raises(RunError, match="schedular"):
        run(suite, tmp_path, executor_options={"schedular": "x"})


def test_cli_scheduler_option_reaches_the_executor_and_an_unreachable_one_is_a_clear_error(photos, tmp_path, capsys):
    from codecbench.cli.main import main

    suite = tmp_path / "s.toml"
    suite.write_text(f"""
[suite]
name = "s"
targets = [0.5]

[[datasets]]
name = "folder"
root = "{photos}"

[[codecs]]
name = "jpeg"

[executor]
name = "dask"
connect_timeout_s = 2
""")
    code = main(["run", str(suite), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "out"),
                 "--no-progress", "--no-reports"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Dask scheduler tcp://127.0.0.1:9" in err and "dask worker ADDRESS" in err


def flaky_execute_job(job, flaky_dir):
    """Test double around the real execute_job: raises on the first call per job (marker file), then measures."""
    from codecbench.run.jobs import execute_job

    marker = os.path.join(flaky_dir, hashlib.sha1(job.key.encode()).hexdigest())
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("flaky double: first attempt fails")
    return execute_job(job)


@pytest.mark.parametrize("retries", [1, 0])
def test_a_task_that_raises_is_resubmitted_and_counted(photos, cluster, tmp_path, monkeypatch, retries):
    from codecbench.run.executors import dask as dask_executor

    flaky_dir = tmp_path / "flaky"
    flaky_dir.mkdir()
    plan = plan_suite(make_suite(photos), log=lambda _: None)
    monkeypatch.setattr(dask_executor, "execute_job", functools.partial(flaky_execute_job, flaky_dir=str(flaky_dir)))
    jobs = plan.jobs[:2]
    with executors.create("dask", scheduler=cluster.scheduler_address, retries=retries) as ex:
        out = list(ex.run(jobs))
    recs = [r for _, r in out]
    if retries:
        assert ex.stats["resubmitted_after_error"] == 2
        assert all(r["status"] in ("ok", "unreachable") and r["attempts"] == 2 for r in recs)
        assert "2 resubmitted after an error" in "\n".join(ex.notes())
    else:
        assert all(r["status"] == "error" and "flaky double" in r["error"] for r in recs)
