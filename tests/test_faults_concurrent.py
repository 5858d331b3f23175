"""Fault injection: concurrent runs into one store (D10). Points are leased before they are computed, so a
second run never computes a point twice; a dead owner's lease is taken over (at once on this host, else when it
expires); summaries count only what the run itself stored."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from fault_helpers import folder_suite
from store_probe import stored_points

from codecbench.run.leases import Leases, make_owner, owner_alive
from codecbench.run.runner import run_suite
from codecbench.run.store import Store
from codecbench.run.suite import load_suite

TARGETS = [0.5, 0.7, 1.0, 1.4, 2.0, 2.8]


def _suite(tmp: Path) -> Path:
    from skimage import data

    img = data.coffee()
    crops = [img[40 * i:40 * i + 96, 50 * i:50 * i + 128] for i in range(3)]
    return folder_suite(tmp, "conc", crops, targets=TARGETS, metrics=["psnr", "ssim"], codecs=["jpeg", "webp"])


def _env(tmp: Path) -> dict:
    import codecbench

    return {**os.environ, "OMP_NUM_THREADS": "1", "CODECBENCH_CACHE": str(tmp / "cache"),
            "PYTHONPATH": str(Path(codecbench.__file__).resolve().parents[1])}


def _computations(stdout: str) -> int:
    """Points a run computed = those it stored + those it computed but found already stored."""
    m = re.search(r"(\d+) computed \(", stdout)
    extra = re.search(r"(\d+) computed point\(s\) were already stored by another run", stdout)
    return int(m.group(1)) + (int(extra.group(1)) if extra else 0)


def test_two_concurrent_runs_compute_each_point_once(tmp_path):
    suite = _suite(tmp_path)
    out = tmp_path / "shared"
    total = 3 * 2 * len(TARGETS)
    cmd = [sys.executable, "-m", "codecbench.cli.main", "run", str(suite), "--out", str(out), "--no-progress",
           "--no-reports"]
    first = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path)
    deadline = time.monotonic() + 120
    while stored_points(out / "store.sqlite") < 1 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    second = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=tmp_path)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0, err1[-2000:]
    assert second.returncode == 0, err2[-2000:]
    done = _computations(out1) + _computations(out2)
    with Store(out, read_only=True) as db:
        stored = db.count()
        keys = [r["key"] for r in db.records()]
    print(f"\ntwo concurrent runs: {done} computations, {stored} points stored ({_computations(out1)} + "
          f"{_computations(out2)}); second run: {out2.splitlines()[0]}")
    assert stored == total and len(set(keys)) == total
    assert done == stored
    con = sqlite3.connect(str(out / "store.sqlite"))
    assert con.execute("SELECT count(*) FROM leases").fetchone()[0] == 0  # every lease released
    con.close()


def test_dead_owner_lease_expires_and_live_lease_is_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("CODECBENCH_CACHE", str(tmp_path / "cache"))
    suite = load_suite(_suite(tmp_path))
    suite.codecs = suite.codecs[:1]
    from codecbench.run.runner import plan_suite

    jobs = plan_suite(suite, log=lambda s: None).jobs
    store = tmp_path / "s" / "store.sqlite"
    Store(store).close()
    # a run on another host holds two points; its leases lapse only when the waiting run has seen them
    foreign = "elsewhere|4242|999|deadbeef0000"
    assert owner_alive(foreign) is None  # cannot be told from here: only expiry frees it
    other = Leases(store, owner=foreign, lease_s=3600)
    assert other.claim(jobs[0].key) == "claimed" and other.claim(jobs[1].key) == "claimed"
    other._con.close()  # the other run vanished without releasing (no close(): it was killed)
    # a dead process on this host: taken over at once
    dead_owner = f"{make_owner().split('|')[0]}|4194305|7|gone00000000"
    dead = Leases(store, owner=dead_owner, lease_s=3600)
    assert dead.claim(jobs[2].key) == "claimed"
    dead._con.close()
    assert owner_alive(dead_owner) is False

    lines = []

    def log(line: str) -> None:
        lines.append(line)
        if "being computed by another run" in line:  # the expiry, without waiting an hour
            with sqlite3.connect(str(store)) as con:
                con.execute("UPDATE leases SET expires = 0 WHERE owner = ?", (foreign,))

    summary = run_suite(suite, store=store, progress=False, log=log)
    assert summary.computed == len(jobs) and summary.exit_code == 0
    waiting = [line for line in lines if "being computed by another run" in line]
    assert len(waiting) == 1 and waiting[0].startswith("2 point(s)")  # the foreign two, not the dead owner's
    with Store(store, read_only=True) as db:
        assert db.count() == len(jobs)
    # a live lease of this very process is never taken over by another owner
    mine = Leases(store, lease_s=60)
    keyed = jobs[0].key
    with sqlite3.connect(str(store)) as con:
        con.execute("DELETE FROM points WHERE key = ?", (keyed,))
    assert mine.claim(keyed) == "claimed"
    rival = Leases(store, owner=f"{make_owner().split('|')[0]}|{os.getpid()}|x|rival", lease_s=60)
    assert rival.claim(keyed) == "busy"
    mine.close()
    assert rival.claim(keyed) == "claimed"  # released by close()
    rival.close()
