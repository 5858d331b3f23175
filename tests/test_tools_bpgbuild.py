"""`codecbench tools build-bpg`: prerequisites named with their Debian packages, atomic install into the cache,
reuse by source hash, timeout, a failed build installs nothing.

Most tests build a tiny FAKE libbpg source (a Makefile whose `all` target writes the stand-in launchers as
bpgenc/bpgdec, or fails, or hangs) so that they run in a second; the last test checks the real libbpg build in
the cache (CI builds it from ../shared/vendor before pytest) and is skipped where there is none.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
from pathlib import Path

import pytest
from fault_helpers import alive_from

from codecbench.cli.main import main
from codecbench.codecs import bpg
from codecbench.paths import shared_path
from codecbench.tools import bpgbuild
from codecbench.tools.bpgbuild import BuildError, build_bpg

STANDINS = Path(__file__).resolve().parent / "standins"


def fake_source(folder: Path, recipe: str) -> Path:
    """A folder that looks like libbpg's top level; `make` runs recipe (one shell line per list item)."""
    folder.mkdir(parents=True)
    (folder / "bpgenc.c").write_text("/* fake */\n")
    (folder / "VERSION").write_text("0.0-fake\n")
    (folder / "Makefile").write_text("all:\n" + "".join(f"\t{line}\n" for line in recipe.splitlines()))
    return folder


def launcher_recipe() -> str:
    lines = []
    for name in ("bpgenc", "bpgdec"):
        script = STANDINS / f"{name}_standin.py"
        lines += [f"printf '#!/bin/sh\\nexec \"{sys.executable}\" \"{script}\" \"$$@\"\\n' > {name}",
                  f"chmod 755 {name}"]
    return "\n".join(lines)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODECBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bpgbuild, "missing_prerequisites", lambda: [])  # the fake source needs only make
    return tmp_path / "cache"


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


def test_missing_prerequisites_are_named_with_packages(tmp_path, monkeypatch):
    import shutil

    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in ("yasm", "cmake") else real_which(name))
    missing = dict(bpgbuild.missing_prerequisites())
    assert missing.get("yasm") == "yasm" and missing.get("cmake") == "cmake"
    src = fake_source(tmp_path / "src", "true")
    with pytest.raises(BuildError, match=r"missing cmake, yasm.*apt-get install -y cmake yasm"):
        build_bpg(src, tmp_path / "prefix")
    assert not (tmp_path / "prefix").exists()


def test_header_check_uses_the_compiler(monkeypatch):
    monkeypatch.setattr(bpgbuild, "HEADERS", (("stdio.h", "libc6-dev"), ("no_such_header_cb.h", "libnope-dev")))
    missing = bpgbuild.missing_prerequisites()
    assert ("no_such_header_cb.h", "libnope-dev") in missing and ("stdio.h", "libc6-dev") not in missing


def test_build_installs_atomically_and_is_reused(cache, tmp_path, monkeypatch):
    src = fake_source(tmp_path / "src", launcher_recipe())
    first = build_bpg(src)
    digest = bpgbuild.source_sha256(src)
    assert first.prefix == cache / "bpg" / digest[:12] and not first.cached
    assert first.bpgenc.is_file() and os.access(first.bpgenc, os.X_OK) and first.bpgdec.is_file()
    manifest = json.loads((first.prefix / "build.json").read_text())
    assert manifest["source_sha256"] == digest and manifest["version"] == "0.0-fake"
    assert "standin" in manifest["banner"]
    assert leftovers(cache / "bpg") == []  # temp build folder removed
    again = build_bpg(src)
    assert again.cached and again.manifest == manifest
    # a changed source is a different build
    (src / "bpgenc.c").write_text("/* changed */\n")
    second = build_bpg(src)
    assert not second.cached and len(list((cache / "bpg").glob("*/build.json"))) == 2
    # the codec finds the newest cached build by itself
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv(bpg.ENC_ENV, raising=False)
    monkeypatch.delenv(bpg.DEC_ENV, raising=False)
    os.utime(first.prefix / "build.json", (1, 1))
    assert bpg.find_binary("bpgenc", bpg.ENC_ENV) == str(second.bpgenc)


def test_build_from_tarball(cache, tmp_path):
    src = fake_source(tmp_path / "libbpg-0.0", launcher_recipe())
    tarball = tmp_path / "libbpg-0.0.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(src, arcname="libbpg-0.0")
    res = build_bpg(tarball, tmp_path / "prefix")
    assert res.prefix == tmp_path / "prefix" and res.bpgenc.is_file()
    assert res.manifest["source_sha256"] == bpgbuild.source_sha256(tarball)
    assert build_bpg(tarball, tmp_path / "prefix").cached


def test_failed_build_installs_nothing(cache, tmp_path):
    src = fake_source(tmp_path / "src", "printf '#!/bin/sh\\n' > bpgenc\necho 'hevc.c:1: error: boom' >&2\nexit 2")
    prefix = tmp_path / "prefix"
    with pytest.raises(BuildError, match=r"(?s)failed with exit status 2.*error: boom.*full make log"):
        build_bpg(src, prefix)
    assert not prefix.exists() and leftovers(tmp_path) == []
    assert "error: boom" in (tmp_path / "prefix.build.log").read_text()


def test_failed_rebuild_keeps_the_previous_install(cache, tmp_path):
    src = fake_source(tmp_path / "src", launcher_recipe())
    prefix = tmp_path / "prefix"
    build_bpg(src, prefix)
    (src / "Makefile").write_text("all:\n\texit 1\n")
    with pytest.raises(BuildError):
        build_bpg(src, prefix)
    assert (prefix / "bin" / "bpgenc").is_file() and (prefix / "build.json").is_file()


def test_build_timeout_kills_make(cache, tmp_path):
    pidfile = tmp_path / "sleep.pid"
    src = fake_source(tmp_path / "src", f"sleep 60 & echo $$! > {pidfile}; wait")
    with pytest.raises(BuildError, match="timed out after 1 s"):
        build_bpg(src, tmp_path / "prefix", timeout_s=1)
    assert not (tmp_path / "prefix").exists() and leftovers(tmp_path) == []
    assert not alive_from(pidfile)


def test_cli_prints_how_to_use_the_build(cache, tmp_path, capsys):
    src = fake_source(tmp_path / "src", launcher_recipe())
    assert main(["tools", "build-bpg", "--source", str(src)]) == 0
    out = capsys.readouterr().out
    assert "export CODECBENCH_BPGENC=" in out and "export PATH=" in out
    assert main(["tools", "build-bpg", "--source", str(src), "--print-env"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("export CODECBENCH_BPG") for line in lines)
    assert main(["tools", "build-bpg", "--source", str(tmp_path / "absent.tar.gz")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


VENDOR = shared_path("vendor", "libbpg-0.9.8.tar.gz")


@pytest.mark.skipif(not VENDOR.is_file(), reason=f"{VENDOR} absent (set CODECBENCH_SHARED)")
def test_real_libbpg_build_is_cached(monkeypatch):
    """Where CI (or a user) built ../shared's libbpg with the helper, a second call reuses it without make."""
    digest = bpgbuild.source_sha256(VENDOR)
    prefix = bpgbuild.bpg_cache_root() / digest[:12]
    if not (prefix / "build.json").is_file():
        pytest.skip(f"no cached build of {VENDOR.name} in {prefix} (run `codecbench tools build-bpg`)")
    monkeypatch.setattr(bpgbuild, "_make", lambda *a, **k: pytest.fail("make ran for a cached build"))
    res = build_bpg(VENDOR)
    assert res.cached and res.manifest["version"] == "0.9.8"
    assert res.manifest["banner"].startswith("BPG Image Encoder version 0.9.8")
