"""Crash safety: kill -9 a run midway, rerun it, and get exactly the table of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from store_probe import stored_points  # noqa: E402

from codecbench.report import reports
from codecbench.run.store import Store

TARGETS = [0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8]


def _suite(tmp: Path) -> Path:
    from skimage import data

    photos = tmp / "photos"
    photos.mkdir()
    src = [data.astronaut(), data.coffee(), data.chelsea()]
    for i in range(4):  # crops of real photos, 176×176 (MS-SSIM defined above 160 px)
        img = src[i % 3]
        y, x = 20 * i, 25 * i
        Image.fromarray(np.ascontiguousarray(img[y:y + 176, x:x + 176])).save(photos / f"p{i}.png")
    suite = tmp / "kill.toml"
    suite.write_text(f"""
[suite]
name = "kill"
targets = {TARGETS}
metrics = ["psnr", "ssim", "ms_ssim"]
workers = 1

[[datasets]]
name = "folder"
root = "{photos}"

[[codecs]]
name = "jpeg"
""")
    return suite


def _cmd(suite: Path, store: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "codecbench.cli.main", "run", str(suite), "--out", str(store), "--no-progress",
            "--no-reports", "--workers", str(workers)]


def _table(store: Path) -> str:
    return reports.to_csv(reports.aggregate(reports.load_points(store)))


def test_sigkill_midway_then_rerun_gives_the_uninterrupted_table(tmp_path):
    suite = _suite(tmp_path)
    total = 4 * len(TARGETS)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CODECBENCH_CACHE": str(tmp_path / "cache")}

    killed_store = tmp_path / "killed"
    # killed run and its rerun use 2 worker processes; the reference run measures in-process
    proc = subprocess.Popen(_cmd(suite, killed_store, 2), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = killed_store / "store.sqlite"
    deadline = time.monotonic() + 120
    while stored_points(db) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    stored_at_kill = stored_points(db)
    print(f"killed with {stored_at_kill} of {total} points stored")
    assert 3 <= stored_at_kill < total, "the kill must land midway"

    con = sqlite3.connect(str(db))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

    rerun = subprocess.run(_cmd(suite, killed_store, 2), env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{stored_at_kill} already in the store, {total - stored_at_kill} computed" in rerun.stdout

    clean_store = tmp_path / "clean"
    clean = subprocess.run(_cmd(suite, clean_store, 1), env=env, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr[-2000:]

    with Store(killed_store, read_only=True) as s:
        keys = [(r["image_hash"], r["codec_key"], r["target"]) for r in s.records()]
    assert len(keys) == total and len(set(keys)) == total  # every point once, no duplicates
    assert _table(killed_store) == _table(clean_store)
