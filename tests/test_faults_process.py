"""Fault injection on processes (D2, D11): after a SIGKILL of the main process its workers exit, nobody holds
the caller's pipes, and no multiprocessing temporary folder is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fault_helpers import folder_suite
from store_probe import stored_points


def _suite(tmp: Path) -> Path:
    from skimage import data

    img = data.astronaut()
    crops = [img[30 * i:30 * i + 176, 40 * i:40 * i + 176] for i in range(4)]
    return folder_suite(tmp, "proc", crops, targets=[0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8],
                        metrics=["psnr", "ssim", "ms_ssim"], codecs=["jpeg"])


def _children() -> dict[int, int]:
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z":
                out[int(d)] = int(fields[1])
    return out


def _descendants(pid: int) -> set[int]:
    tree = _children()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in tree.items() if p in frontier} - found
        found |= frontier
    return found


def test_sigkill_main_process_releases_pipes_workers_and_temp_folders(tmp_path):
    suite = _suite(tmp_path)
    private_tmp = Path(tempfile.mkdtemp(prefix="cbk-", dir="/tmp"))  # short: the forkserver socket lives here
    import codecbench

    # the package under test, whatever the working directory (`-m` would put the cwd first on sys.path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CODECBENCH_CACHE": str(tmp_path / "cache"),
           "TMPDIR": str(private_tmp), "PYTHONPATH": str(Path(codecbench.__file__).resolve().parents[1])}
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "codecbench.cli.main", "run", str(suite), "--out", str(out),
                             "--workers", "2", "--no-progress"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while stored_points(out / "store.sqlite") < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    workers = _descendants(proc.pid)
    assert len(workers) >= 2, workers  # forkserver, resource tracker and the worker processes
    os.kill(proc.pid, signal.SIGKILL)
    t0 = time.monotonic()
    try:
        proc.communicate(timeout=30)  # returns only once no process holds the pipes
    except subprocess.TimeoutExpired:
        for pid in _children().keys() & workers:
            os.kill(pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"the caller's pipes were still held 30 s after the SIGKILL (by {workers})")
    released = time.monotonic() - t0
    while time.monotonic() - t0 < 30 and (_children().keys() & workers):
        time.sleep(0.05)
    alive = _children().keys() & workers
    assert not alive, f"processes outlived the killed run: {alive}"
    left = sorted(p.name for p in private_tmp.iterdir())
    shutil.rmtree(private_tmp, ignore_errors=True)
    assert not left, f"left in the temp folder: {left}"
    print(f"\npipes released {released:.2f} s after SIGKILL; {len(workers)} child processes gone")
