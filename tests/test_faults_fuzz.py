"""Fault injection: fuzz every bitstream format through its decoder, with a time and memory cap per case (D4).

The decodes run in a child process (tests/fuzz_decoders.py) that reports one line per case; the child is killed
when a case runs past the time cap, which fails the test. Goal (issue 11): every mutated stream is rejected with a
CodecError or decodes to a valid RGB image; no decode of a stream under 10 KB takes over 2 s or 1 GB.
"""

from __future__ import annotations

import collections
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("fuzz_decoders.py")
CASE_TIME_CAP_S = 2.0  # the goal for streams under 10 KB
CASE_MEMORY_CAP_MB = 1024.0
KILL_AFTER_S = 20.0  # a line later than this (case time cap with margin for a loaded machine): kill the child


def _run(cases_per_format: int, seed: int) -> list[dict]:
    here = Path(__file__).resolve().parent  # this checkout's package and example plugin, whatever is installed
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(here.parent), str(here / "plugin_example")])}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(cases_per_format), str(seed)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rows: list[dict] = []
    try:
        deadline = time.monotonic() + 120  # imports and the first encodes
        buf = ""
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
            if not ready:
                last = rows[-1] if rows else None
                pytest.fail(f"a decode ran past {KILL_AFTER_S} s (the case after {last}); the child was killed")
            line = proc.stdout.readline()
            if not line:
                err = proc.stderr.read()[-3000:]
                pytest.fail(f"fuzz child ended early (rc {proc.wait()}): {err}")
            buf = line.strip()
            row = json.loads(buf)
            if row.get("done"):
                break
            rows.append(row)
            deadline = time.monotonic() + KILL_AFTER_S
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return rows


def _check(rows: list[dict], minimum: int) -> None:
    assert len(rows) >= minimum
    formats = collections.Counter(r["format"] for r in rows)
    assert "gan" in formats and "jpeg" in formats, formats
    outcomes = collections.Counter((r["format"], r["outcome"]) for r in rows)
    bad = [r for r in rows if r["outcome"] != "ok" and not r["codec_error"]]
    small = [r for r in rows if r["bytes"] < 10_000]
    slowest = max(small, key=lambda r: r["s"])
    biggest = max(small, key=lambda r: r["peak_mb"] if r["peak_mb"] == r["peak_mb"] else 0)
    print(f"\nfuzz: {len(rows)} cases over {len(formats)} formats {dict(formats)}")
    for (fmt, outcome), n in sorted(outcomes.items()):
        print(f"  {fmt:9s} {outcome:22s} {n}")
    print(f"  slowest decode {slowest['s']:.3f} s ({slowest['format']} case {slowest['case']}, {slowest['bytes']} B); "
          f"largest peak-RSS growth {biggest['peak_mb']:.1f} MB ({biggest['format']} case {biggest['case']})")
    assert not bad, f"decoders raised something other than CodecError: {bad[:5]}"
    assert all(r["format"] != "gan" or r["case"] > 0 or r["outcome"] == "ok" for r in rows)
    for fmt in formats:
        first = next(r for r in rows if r["format"] == fmt and r["case"] == 0)
        assert first["outcome"] == "ok", f"{fmt}: the unmutated stream must decode"
    assert slowest["s"] <= CASE_TIME_CAP_S, slowest
    assert biggest["peak_mb"] != biggest["peak_mb"] or biggest["peak_mb"] <= CASE_MEMORY_CAP_MB, biggest


def test_fuzz_every_bitstream_format():
    """≥ 500 cases in CI: 6 mutation kinds over every codec available here (at least jpeg … and gan)."""
    rows = _run(cases_per_format=90, seed=11)
    _check(rows, minimum=500)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CODECBENCH_FUZZ_LONG"), reason="long fuzz (12 000 cases, minutes): set "
                    "CODECBENCH_FUZZ_LONG=1 to run it")
def test_fuzz_every_bitstream_format_long():
    rows = _run(cases_per_format=1500, seed=1234)
    _check(rows, minimum=8000)
