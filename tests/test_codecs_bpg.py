"""BPG wrapper: binaries found via env vars or PATH, no shell, timeouts, temp files removed.

Most tests use the stand-in executables in tests/standins (TEST DOUBLES that mimic bpgenc/bpgdec's
command line with JPEG inside, not BPG). The real-binary tests run wherever `bpgenc`/`bpgdec` are
installed and are skipped otherwise.
"""

from __future__ import annotations

import shutil
import tempfile

import numpy as np
import pytest

from codecbench.codecs import bpg
from codecbench.codecs.spec import CodecError, CodecUnavailable
from standins.launchers import bpg_standin_launchers


@pytest.fixture
def standin(tmp_path, monkeypatch):
    enc, dec = bpg_standin_launchers(tmp_path)
    monkeypatch.setenv(bpg.ENC_ENV, str(enc))
    monkeypatch.setenv(bpg.DEC_ENV, str(dec))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the wrapper's temp folders go
    return scratch


def psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_standin_roundtrip_and_cleanup(standin, photo):
    codec = bpg.BPG.bind()
    assert "standin" in codec.version()  # the version comes from the binary's banner
    low, high = codec.encode(photo, 45), codec.encode(photo, 20)
    assert len(low) < len(high)  # lower qp = more bits
    assert psnr(photo, codec.decode(high)) > psnr(photo, codec.decode(low))
    assert list(standin.iterdir()) == []  # temp folders removed


def test_failure_removes_temp_files(standin):
    codec = bpg.BPG.bind()
    with pytest.raises(CodecError, match="bpgdec failed"):
        codec.decode(b"definitely not a bpg file")
    assert list(standin.iterdir()) == []


def test_timeout(standin, tmp_path, monkeypatch, photo):
    slow = tmp_path / "slowenc"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    codec = bpg.BPG.bind()
    monkeypatch.setenv(bpg.ENC_ENV, str(slow))
    monkeypatch.setattr(bpg, "TIMEOUT_S", 0.5)
    with pytest.raises(CodecError, match="timed out"):
        codec.encode(photo[:32, :32].copy(), 30)
    assert list(standin.iterdir()) == []


def test_no_shell_metacharacters(standin, tmp_path, monkeypatch, photo):
    """Arguments reach the binary verbatim (no shell): a path with spaces and quotes works."""
    odd = tmp_path / "dir with 'quotes' & spaces"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    codec = bpg.BPG.bind()
    out = codec.decode(codec.encode(photo[:40, :48].copy(), 30))
    assert out.shape == (40, 48, 3)
    assert list(odd.iterdir()) == []


def test_unavailable_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(bpg.ENC_ENV, raising=False)
    monkeypatch.delenv(bpg.DEC_ENV, raising=False)
    reason = bpg.BPG.unavailable(dict(bpg.BPG.defaults))
    assert "bpgenc not found on PATH" in reason and "CODECBENCH_BPGENC" in reason and "libbpg" in reason
    with pytest.raises(CodecUnavailable, match="bpgenc not found"):
        bpg.BPG.bind()
    monkeypatch.setenv(bpg.ENC_ENV, str(tmp_path / "nope"))
    assert "is not an executable file" in bpg.BPG.unavailable(dict(bpg.BPG.defaults))


def test_bad_settings_refused(standin):
    with pytest.raises(CodecUnavailable, match="chroma"):
        bpg.BPG.bind(chroma="411")


real = pytest.mark.skipif(
    not (shutil.which("bpgenc") and shutil.which("bpgdec")),
    reason="real bpgenc/bpgdec not on PATH (install libbpg to run)",
)


@real
def test_real_bpg_roundtrip(photo, monkeypatch):
    monkeypatch.delenv(bpg.ENC_ENV, raising=False)
    monkeypatch.delenv(bpg.DEC_ENV, raising=False)
    codec = bpg.BPG.bind()
    assert "standin" not in codec.version()
    data = codec.encode(photo, 32)
    assert data[:4] == b"BPG\xfb"  # real BPG magic
    out = codec.decode(data)
    assert out.shape == photo.shape and psnr(photo, out) > 28
    assert codec.encode(photo, 32) == data


@real
def test_real_bpg_rate_falls_with_qp(photo, monkeypatch):
    monkeypatch.delenv(bpg.ENC_ENV, raising=False)
    monkeypatch.delenv(bpg.DEC_ENV, raising=False)
    codec = bpg.BPG.bind()
    sizes = [len(codec.encode(photo, qp)) for qp in (20, 32, 44)]
    assert sizes[0] > sizes[1] > sizes[2]
