"""Fault injection: the kill campaign. A run is SIGKILLed at random moments across its run phase (points being
computed, 1 or 2 workers) and its report phase (tables and plots being written), then resumed; at the end the
tables equal those of an uninterrupted run byte for byte, with no point lost or duplicated, no store corrupted
and no report file truncated."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fault_helpers import folder_suite
from store_probe import stored_points

TARGETS = [0.5, 0.8, 1.2, 2.0]
KILLS_RUN, KILLS_REPORT = 8, 4
TABLES = ("table.md", "table.csv", "table.tex", "bdrate.md", "bdrate.csv")


def _suite(tmp: Path) -> Path:
    from skimage import data

    src = [data.astronaut(), data.coffee(), data.chelsea()]
    crops = [src[i % 3][20 * i:20 * i + 72, 30 * i:30 * i + 96] for i in range(4)]
    return folder_suite(tmp, "killcampaign", crops, targets=TARGETS, metrics=["psnr", "ssim"],
                        codecs=["jpeg", "webp"], stem="kill")


def _complete(path: Path) -> bool:
    """A report file as a writer leaves it when it finishes (used to find truncated files)."""
    data = path.read_bytes()
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    if path.suffix == ".svg":
        return data.rstrip().endswith(b"</svg>")
    if path.suffix == ".csv":
        try:
            pd.read_csv(path)
        except Exception:
            return False
        return data.endswith(b"\n")
    return data.endswith(b"\n") and len(data) > 0


def test_kill_campaign(tmp_path):
    import codecbench

    suite = _suite(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CODECBENCH_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(codecbench.__file__).resolve().parents[1])}
    total = 4 * 2 * len(TARGETS)

    def cmd(out: Path, workers: int) -> list[str]:
        return [sys.executable, "-m", "codecbench.cli.main", "run", str(suite), "--out", str(out),
                "--no-progress", "--workers", str(workers)]

    clean = tmp_path / "clean"
    ref = subprocess.run(cmd(clean, 1), env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr[-2000:]

    out = tmp_path / "killed"
    db = out / "store.sqlite"
    rng = np.random.default_rng(20261201)
    kills = {"run": 0, "report": 0}
    lost = corrupted = truncated = leftovers = 0
    attempts = 0
    while (kills["run"] < KILLS_RUN or kills["report"] < KILLS_REPORT) and attempts < 60:
        attempts += 1
        have = stored_points(db)
        phase = "run" if kills["run"] < KILLS_RUN and have < total else "report"
        if phase == "report" and kills["report"] >= KILLS_REPORT:
            # the store is complete but run kills are owed: start again from an emptied copy's missing points
            with sqlite3.connect(str(db)) as con:
                con.execute("DELETE FROM points WHERE rowid IN (SELECT rowid FROM points ORDER BY random() LIMIT 12)")
            have = stored_points(db)
            phase = "run"
        proc = subprocess.Popen(cmd(out, 1 + attempts % 2), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, cwd=tmp_path, text=True)
        if phase == "run":
            goal = have + int(rng.integers(1, max(2, min(6, total - have))))
            deadline = time.monotonic() + 120
            while stored_points(db) < goal and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
        else:  # the report phase starts after the run prints "store: ..."; kill somewhere in it
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stdout], [], [], 1.0)
                line = proc.stdout.readline() if ready else ""
                if line.startswith("store:") or (ready and not line):
                    break
            time.sleep(float(rng.uniform(0.0, 1.5)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills[phase] += 1
        proc.wait(timeout=60)
        proc.stdout.close()
        after = stored_points(db)
        lost += max(0, have - after)
        con = sqlite3.connect(str(db))
        try:
            corrupted += con.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
            dup = con.execute("SELECT count(*) - count(DISTINCT image_hash || codec_key || target) FROM points")
            assert dup.fetchone()[0] == 0
        finally:
            con.close()
        for f in out.iterdir():
            if f.is_file() and f.suffix in (".md", ".csv", ".tex", ".png", ".svg"):
                truncated += not _complete(f)
            elif f.name.endswith(".tmp"):
                leftovers += 1  # a kill between create and rename: never the report file itself
    final = subprocess.run(cmd(out, 2), env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert final.returncode == 0, final.stderr[-2000:]
    with sqlite3.connect(str(db)) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT key) FROM points").fetchone()
    print(f"\nkill campaign: {kills['run']} kills in the run phase, {kills['report']} in the report phase "
          f"({attempts} attempts); points lost {lost}, duplicated {rows[0] - rows[1]}, corrupted stores {corrupted}, "
          f"truncated report files {truncated}, leftover temporary files {leftovers}")
    assert kills["run"] >= KILLS_RUN and kills["report"] >= KILLS_REPORT
    assert rows == (total, total) and lost == 0 and corrupted == 0 and truncated == 0
    for name in TABLES:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
