"""The SQLite store: round-trips, unique keys, conflict rules, concurrent writers."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3

import pytest

from codecbench.atomicio import write_atomic
from codecbench.run.point_keys import point_key, target_key
from codecbench.run.store import Store, StoreError, resolve_store


def rec(i: int = 0, status: str = "ok", **kw):
    r = {"image_hash": f"h{i}", "codec_key": "jpeg@1{}", "target": target_key(0.25), "status": status,
         "dataset": "d", "image_id": f"img{i}", "codec": "jpeg", "label": "jpeg", "target_bpp": 0.25,
         "bpp": 0.24, "metrics": {"psnr": 30.0 + i}}
    r.update(kw)
    return r


def test_put_and_read_back_with_infinite_and_nan_values(tmp_path):
    with Store(tmp_path / "s") as s:
        assert s.put(rec(metrics={"psnr": math.inf, "ms_ssim": math.nan}))
    with Store(tmp_path / "s", read_only=True) as s:
        (r,) = list(s.records())
    assert r["metrics"]["psnr"] == math.inf
    assert math.isnan(r["metrics"]["ms_ssim"])
    assert (tmp_path / "s" / "store.sqlite").is_file()


def test_ok_point_is_never_duplicated_nor_overwritten(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        assert s.put(rec(bpp=0.2))
        assert not s.put(rec(bpp=0.9))
        assert s.count() == 1
        assert next(s.records())["bpp"] == 0.2


def test_error_point_is_replaced_by_a_later_result_and_retried(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        s.put(rec(status="error", error="boom"))
        assert s.done_keys() == set()
        assert len(s.done_keys(include_errors=True)) == 1
        assert s.put(rec(status="ok"))
        assert s.count("ok") == 1 and s.count() == 1


def test_bad_records_and_bad_files_are_refused(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        with pytest.raises(ValueError, match="status"):
            s.put(rec(status="weird"))
        with pytest.raises(ValueError, match="image_hash"):
            s.put(rec(image_hash=""))
    bad = tmp_path / "not.sqlite"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not.sqlite"):
        Store(bad)
    with pytest.raises(StoreError, match="no result store"):
        Store(tmp_path / "missing.sqlite", read_only=True)


def test_keys_and_paths():
    assert target_key(0.125) == "0.125"
    assert target_key(None) == "fixed"
    assert target_key(None, knob=50) == "knob=50"
    assert point_key("h", "c", "t") == "h|c|t"


def test_write_atomic_leaves_no_temp_files(tmp_path):
    write_atomic(tmp_path / "a" / "x.bin", b"123")
    assert (tmp_path / "a" / "x.bin").read_bytes() == b"123"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.bin"]
    assert resolve_store(tmp_path) == tmp_path / "store.sqlite"


def _writer(path, start):
    with Store(path) as s:
        for i in range(start, start + 60):
            s.put(rec(i))


def test_concurrent_writers_do_not_corrupt_or_duplicate(tmp_path):
    path = tmp_path / "c.sqlite"
    Store(path).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, start)) for start in (0, 30, 60)]  # overlapping keys
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as s:
        assert s.count() == 120
        assert len({r["image_hash"] for r in s.records()}) == 120
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
