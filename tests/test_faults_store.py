"""Fault injection on the store and the output folder: corruption, a locked store, a read-only folder, a full
disk (D7), --out as a folder (D6), strict JSON records (D11), atomic reports under ENOSPC (D5)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from codecbench.cli.main import main

SQLITE_HEADER = 100


def _photos(folder: Path, n: int = 2) -> Path:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    img = data.astronaut()
    for k in range(n):
        Image.fromarray(np.ascontiguousarray(img[100 + 60 * k:164 + 60 * k, 120:200])).save(folder / f"p{k}.png")
    return folder


def _suite(folder: Path, photos: Path, targets=(2.5, 4.0)) -> Path:
    path = folder / "s.toml"
    path.write_text(f"""
[suite]
name = "faults"
targets = {list(targets)}
metrics = ["psnr", "ms_ssim"]
output = "{folder / 'default-out'}"

[[datasets]]
name = "folder"
root = "{photos}"

[[codecs]]
name = "jpeg"
""")
    return path


@pytest.fixture(autouse=True)
def _env(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CODECBENCH_CACHE", str(tmp_path_factory.mktemp("hashcache")))
    monkeypatch.setenv("CODECBENCH_STORE_TIMEOUT", "0.3")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A small real store (2 photos × jpeg × 2 targets) with its reports, made once."""
    root = tmp_path_factory.mktemp("made")
    os.environ.setdefault("CODECBENCH_CACHE", str(root / "cache"))
    suite = _suite(root, _photos(root / "photos"))
    assert main(["run", str(suite), "--out", str(root / "results_v1.2"), "--no-progress"]) == 0
    return root, suite, root / "results_v1.2"


def _one_line(capsys, store_name: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    err = [line for line in err if not line.startswith("skipping")]
    assert len(err) == 1, err
    assert store_name in err[0] and "Traceback" not in err[0]
    return err[0]


def test_out_with_a_dot_is_a_folder(made, tmp_path, capsys):
    """D6: --out results_v1.2 made a folder holding store.sqlite and the reports, never a file."""
    root, suite, out = made
    assert out.is_dir() and (out / "store.sqlite").is_file() and (out / "table.md").is_file()
    assert not any(p.suffix == ".md" for p in root.iterdir())  # nothing spilled into the parent
    store = tmp_path / "named.sqlite"
    assert main(["run", str(suite), "--store", str(store), "--no-progress", "--no-reports"]) == 0
    assert store.is_file()
    (tmp_path / "afile").write_text("x")
    capsys.readouterr()
    assert main(["run", str(suite), "--out", str(tmp_path / "afile"), "--no-progress"]) == 2
    assert "is a file" in capsys.readouterr().err


def test_records_are_strict_json_with_nan_read_back(made):
    """D11: MS-SSIM is NaN on 64×80 images; the stored JSON is still valid for json_extract, and reads as NaN."""
    from codecbench.run.store import Store

    _, _, out = made
    con = sqlite3.connect(str(out / "store.sqlite"))
    try:
        assert con.execute("SELECT min(json_valid(record)) FROM points").fetchone()[0] == 1
        vals = [v for (v,) in con.execute("SELECT json_extract(record, '$.metrics.ms_ssim') FROM points")]
        psnr = [v for (v,) in con.execute("SELECT json_extract(record, '$.metrics.psnr') FROM points")]
    finally:
        con.close()
    assert vals and all(v == "NaN" for v in vals) and all(isinstance(p, float) for p in psnr)
    with Store(out, read_only=True) as db:
        assert all(np.isnan(r["metrics"]["ms_ssim"]) for r in db.records())


def _corruptions(src: Path) -> dict[str, callable]:
    size = src.stat().st_size
    page = 4096

    def overwrite(offset: int, data: bytes):
        def f(p: Path):
            with open(p, "r+b") as fh:
                fh.seek(offset)
                fh.write(data)
        return f

    rng = np.random.default_rng(7)
    return {
        "garbage file": lambda p: p.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()),
        "header zeroed": overwrite(0, bytes(SQLITE_HEADER)),
        "magic damaged": overwrite(0, b"SQLite formax 3\x00"),
        "page size damaged": overwrite(16, b"\x00\x03"),
        "truncated to half": lambda p: os.truncate(p, size // 2),
        "truncated to one page": lambda p: os.truncate(p, page),
        "schema page damaged": overwrite(SQLITE_HEADER, rng.integers(0, 256, page - SQLITE_HEADER,
                                                                     dtype=np.uint8).tobytes()),
        "data page damaged": overwrite(page, rng.integers(0, 256, page, dtype=np.uint8).tobytes()),
        "last page damaged": overwrite(max(page, size - page), rng.integers(0, 256, page, dtype=np.uint8).tobytes()),
        "record not JSON": lambda p: _sql(p, "UPDATE points SET record = '{broken' WHERE rowid = 1"),
        "points table dropped": lambda p: _sql(p, "DROP TABLE points"),
        "folder instead of file": lambda p: (p.unlink(), p.mkdir()),
    }


def _sql(p: Path, sql: str) -> None:
    con = sqlite3.connect(str(p))
    con.execute(sql)
    con.commit()
    con.close()


def test_corrupted_store_gives_one_line_and_exit_code(made, tmp_path, capsys):
    """D7: every corruption, in `run` and in the report commands: one line naming the store, exit 2 (not a store)
    or 3 (corrupt), no traceback (a store whose points table was dropped is rebuilt by `run`)."""
    _, suite, out = made
    src = out / "store.sqlite"
    codes = {}
    for name, corrupt in _corruptions(src).items():
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        store = folder / "store.sqlite"
        shutil.copy(src, store)
        corrupt(store)
        capsys.readouterr()
        for cmd in (["table", str(folder)], ["plot", str(folder)], ["check", str(folder), "--baseline", "x.json"],
                    ["export", str(folder)], ["run", str(suite), "--out", str(folder), "--no-progress"]):
            rc = main(cmd)
            if name == "points table dropped" and cmd[0] == "run":
                assert rc == 0  # still a codecbench store (its meta is intact): run recreates the table
                capsys.readouterr()
                codes[(name, cmd[0])] = rc
                continue
            err = capsys.readouterr().err
            capsys.readouterr()
            lines = [x for x in err.strip().splitlines() if not x.startswith("skipping")]
            assert len(lines) == 1 and "store.sqlite" in lines[0], (name, cmd[0], rc, err)
            line = lines[0]
            assert rc in (2, 3), (name, cmd[0], rc, line)
            assert "Traceback" not in err
            codes[(name, cmd[0])] = rc
    assert len(codes) == 12 * 5
    print(f"\n{len(codes)} (corruption, command) pairs: exit codes {sorted(set(codes.values()))}")
    for name in dict.fromkeys(n for n, _ in codes):
        print(f"  {name:24s} " + " ".join(f"{c}={codes[(name, c)]}" for c in ("table", "plot", "check", "export",
                                                                               "run")))


def test_locked_store(made, tmp_path, capsys):
    _, suite, out = made
    shutil.copy(out / "store.sqlite", tmp_path / "store.sqlite")
    con = sqlite3.connect(str(tmp_path / "store.sqlite"), isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["table", str(tmp_path)]) == 6
        assert "locked" in _one_line(capsys, "store.sqlite")
        assert main(["run", str(suite), "--out", str(tmp_path), "--no-progress"]) == 6
        assert "locked" in _one_line(capsys, "store.sqlite")
    finally:
        con.close()


class _Mount:
    """A small tmpfs (root only); skipped where mounting is not permitted."""

    def __init__(self, where: Path, size: str):
        self.where = where
        where.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()})")

    def remount(self, opts: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{opts}", str(self.where)], check=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", str(self.where)], check=False)


def test_read_only_folder(made, tmp_path, capsys):
    _, suite, out = made
    with _Mount(tmp_path / "ro", "4m") as m:
        shutil.copytree(out, m.where / "res")
        m.remount("ro")
        assert main(["run", str(suite), "--out", str(m.where / "res"), "--no-progress"]) == 5
        assert "permission" in _one_line(capsys, "store.sqlite").lower()
        assert main(["table", str(m.where / "res"), "-o", str(m.where / "res" / "t.md")]) == 5
        _one_line(capsys, "t.md")


def test_full_disk_keeps_previous_reports_and_store(made, tmp_path, capsys):
    """ENOSPC on a 16 MB tmpfs: report commands and the run fail with exit 4 and one line; the previous rd.png,
    table.md and the store stay intact; no temporary file is left; after freeing space the run resumes."""
    _, suite, out = made
    with _Mount(tmp_path / "small", "16m") as m:
        res = m.where / "res"
        shutil.copytree(out, res, ignore=shutil.ignore_patterns("report.html", "artifacts"))
        assert main(["table", str(res), "-o", str(res / "t.md")]) == 0
        before = {p.name: p.read_bytes() for p in res.iterdir() if p.is_file()}
        filler = m.where / "filler"
        with open(filler, "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        capsys.readouterr()
        assert main(["plot", str(res)]) == 4
        _one_line(capsys, "rd")
        assert main(["table", str(res), "-o", str(res / "t.md")]) == 4
        _one_line(capsys, "t.md")
        bigger = _suite(tmp_path, Path(suite.read_text().split('root = "')[1].split('"')[0]), targets=(2.5, 4.0, 5.0))
        rc = main(["run", str(bigger), "--out", str(res), "--no-progress"])
        assert rc == 4, rc
        _one_line(capsys, "store.sqlite")
        after = {p.name: p.read_bytes() for p in res.iterdir() if p.is_file()}
        assert {k: v for k, v in after.items() if k in before} == before  # nothing truncated or destroyed
        assert not [n for n in after if n.endswith(".tmp")]
        con = sqlite3.connect(str(res / "store.sqlite"))
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        filler.unlink()
        assert main(["run", str(bigger), "--out", str(res), "--no-progress"]) == 0
