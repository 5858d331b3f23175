"""BPG wrapper: binaries found via env vars, PATH or the build cache; no shell; timeouts kill the process group;
temp files removed; every bpgenc option explicit.

The failure-path tests use the stand-in executables in tests/standins (TEST DOUBLES that mimic bpgenc/bpgdec's
command line with JPEG inside, not BPG) and tiny shell scripts (hang, garbage output, non-zero exit). The
real-binary tests run wherever a real bpgenc/bpgdec is found (CI builds libbpg 0.9.8 from ../shared/vendor with
`codecbench tools build-bpg`) and are skipped otherwise. The build helper itself is tested in test_tools_bpgbuild.py.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from fault_helpers import alive_from
from standins.launchers import bpg_standin_launchers

from codecbench.codecs import bpg
from codecbench.codecs.spec import CodecError, CodecUnavailable


@pytest.fixture
def standin(tmp_path, monkeypatch):
    enc, dec = bpg_standin_launchers(tmp_path)
    monkeypatch.setenv(bpg.ENC_ENV, str(enc))
    monkeypatch.setenv(bpg.DEC_ENV, str(dec))
    monkeypatch.delenv(bpg.TIMEOUT_ENV, raising=False)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the wrapper's temp folders go
    return scratch


def script(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_standin_roundtrip_and_cleanup(standin, photo):
    codec = bpg.BPG.bind()
    assert "standin" in codec.version()  # the version comes from the binary's banner
    low, high = codec.encode(photo, 45), codec.encode(photo, 20)
    assert len(low) < len(high)  # lower qp = more bits
    assert psnr(photo, codec.decode(high)) > psnr(photo, codec.decode(low))
    assert list(standin.iterdir()) == []  # temp folders removed


def test_every_option_is_explicit_on_the_command_line():
    s = {"chroma": "444", "color_space": "rgb", "bit_depth": 10, "encoder": "jctvc", "level": 9}
    argv = bpg.encoder_argv("bpgenc", 37, s, "in.png", "out.bpg")
    assert argv == ["bpgenc", "-q", "37", "-f", "444", "-c", "rgb", "-b", "10", "-e", "jctvc", "-m", "9",
                    "-o", "out.bpg", "in.png"]
    assert set(bpg.BPG.defaults) == {"chroma", "color_space", "bit_depth", "encoder", "level"}


def test_failure_removes_temp_files(standin):
    codec = bpg.BPG.bind()
    with pytest.raises(CodecError, match="bpgdec failed with exit status 1"):
        codec.decode(b"definitely not a bpg file")
    assert list(standin.iterdir()) == []


def test_nonzero_exit_and_garbage_output(standin, tmp_path, monkeypatch, photo):
    codec = bpg.BPG.bind()
    monkeypatch.setenv(bpg.ENC_ENV, str(script(tmp_path, "failenc", 'echo "x265 [error]: boom" >&2; exit 3')))
    with pytest.raises(CodecError, match=r"bpgenc failed with exit status 3: x265 \[error\]: boom"):
        codec.encode(photo[:64, :64].copy(), 30)
    monkeypatch.setenv(bpg.ENC_ENV, str(script(tmp_path, "silentenc", "exit 0")))
    with pytest.raises(CodecError, match="bpgenc wrote no output file"):
        codec.encode(photo[:64, :64].copy(), 30)
    # a decoder that "succeeds" but writes garbage instead of a PNG (argv: -o OUT IN)
    monkeypatch.setenv(bpg.DEC_ENV, str(script(tmp_path, "garbagedec", 'printf "garbage" > "$2"')))
    with pytest.raises(CodecError, match="could not be read as PNG"):
        codec.decode(b"whatever")
    assert list(standin.iterdir()) == []


def test_crash_is_reported_as_a_crash(standin, tmp_path, monkeypatch, photo):
    codec = bpg.BPG.bind()
    monkeypatch.setenv(bpg.ENC_ENV, str(script(tmp_path, "crashenc", "kill -SEGV $$")))
    with pytest.raises(CodecError, match="bpgenc was killed by SIGSEGV"):
        codec.encode(photo[:64, :64].copy(), 30)
    assert list(standin.iterdir()) == []


def test_small_images_refused_before_bpgenc_runs(standin, photo):
    with pytest.raises(ValueError, match="at least 64 px per side"):
        bpg.BPG.bind().encode(photo[:64, :63].copy(), 30)


def test_timeout_kills_the_process_group(standin, tmp_path, monkeypatch, photo):
    """A hung bpgenc and the child it spawned are both killed; the error says 'timed out', not 'not started'."""
    pidfile = tmp_path / "child.pid"
    slow = script(tmp_path, "slowenc", f'sleep 30 &\necho $! > "{pidfile}"\nwait')
    codec = bpg.BPG.bind()
    monkeypatch.setenv(bpg.ENC_ENV, str(slow))
    monkeypatch.setenv(bpg.TIMEOUT_ENV, "0.5")
    with pytest.raises(CodecError, match=r"bpgenc timed out after 0.5 s \(set CODECBENCH_BPG_TIMEOUT"):
        codec.encode(photo[:64, :64].copy(), 30)
    assert not alive_from(pidfile)
    assert list(standin.iterdir()) == []


def test_point_deadline_also_kills_the_group(standin, tmp_path, monkeypatch, photo):
    """The suite's per-point timeout (SIGALRM in the worker) interrupts bpgenc and kills its group."""
    from codecbench.run.jobs import JobTimeout, _deadline

    pidfile = tmp_path / "child.pid"
    slow = script(tmp_path, "slowenc", f'sleep 30 &\necho $! > "{pidfile}"\nwait')
    codec = bpg.BPG.bind()
    monkeypatch.setenv(bpg.ENC_ENV, str(slow))
    with pytest.raises(JobTimeout, match="point took longer than 0.5 s"):
        with _deadline(0.5):
            codec.encode(photo[:64, :64].copy(), 30)
    assert not alive_from(pidfile)
    assert list(standin.iterdir()) == []


def test_unstartable_binary_is_reported_as_such(standin, tmp_path, monkeypatch, photo):
    codec = bpg.BPG.bind()
    bad = tmp_path / "notexec"
    bad.write_text("not a program")
    bad.chmod(0o644)
    monkeypatch.setenv(bpg.ENC_ENV, str(bad))
    with pytest.raises(CodecError, match="bpgenc could not be started"):
        codec.encode(photo[:64, :64].copy(), 30)
    assert list(standin.iterdir()) == []


def test_timeout_env_is_checked(standin, monkeypatch, photo):
    codec = bpg.BPG.bind()
    monkeypatch.setenv(bpg.TIMEOUT_ENV, "soon")
    with pytest.raises(CodecError, match="CODECBENCH_BPG_TIMEOUT='soon' is not a number"):
        codec.encode(photo[:64, :64].copy(), 30)
    monkeypatch.setenv(bpg.TIMEOUT_ENV, "120")
    assert bpg.timeout_s() == 120.0


def test_no_shell_metacharacters(standin, tmp_path, monkeypatch, photo):
    """Arguments reach the binary verbatim (no shell): a path with spaces and quotes works."""
    odd = tmp_path / "dir with 'quotes' & spaces"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    codec = bpg.BPG.bind()
    out = codec.decode(codec.encode(photo[:64, :72].copy(), 30))
    assert out.shape == (64, 72, 3)
    assert list(odd.iterdir()) == []


def test_unavailable_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CODECBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(bpg.ENC_ENV, raising=False)
    monkeypatch.delenv(bpg.DEC_ENV, raising=False)
    reason = bpg.BPG.unavailable(dict(bpg.BPG.defaults))
    assert "bpgenc not found on PATH;" in reason and "no complete build in" in reason and "CODECBENCH_BPGENC" in reason
    assert "codecbench tools build-bpg" in reason
    with pytest.raises(CodecUnavailable, match="bpgenc not found"):
        bpg.BPG.bind()
    monkeypatch.setenv(bpg.ENC_ENV, str(tmp_path / "nope"))
    assert "is not an executable file" in bpg.BPG.unavailable(dict(bpg.BPG.defaults))


def test_binaries_found_in_the_build_cache(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("CODECBENCH_CACHE", str(cache))
    monkeypatch.delenv(bpg.ENC_ENV, raising=False)
    monkeypatch.delenv(bpg.DEC_ENV, raising=False)
    old, new, partial = cache / "bpg" / "aaa", cache / "bpg" / "bbb", cache / "bpg" / ".bbb.build-x"
    for i, build in enumerate((old, new, partial)):
        (build / "bin").mkdir(parents=True)
        enc, dec = bpg_standin_launchers(build / "bin")
        if build is not partial:  # an unfinished build (no build.json) is never used
            (build / "build.json").write_text('{"source_sha256": "%s"}' % build.name)
            os.utime(build / "build.json", (1000 + i, 1000 + i))
    assert bpg.find_binary("bpgenc", bpg.ENC_ENV) == str(new / "bin" / "bpgenc")
    codec = bpg.BPG.bind()
    assert codec.describe()["provenance"]["build_source_sha256"] == "bbb"


def test_bad_settings_refused(standin):
    with pytest.raises(CodecUnavailable, match="chroma"):
        bpg.BPG.bind(chroma="411")
    with pytest.raises(CodecUnavailable, match="color_space"):
        bpg.BPG.bind(color_space="xyz")
    with pytest.raises(CodecUnavailable, match=r"encoder 'jctvc' is not built into this bpgenc \(it has: x265\)"):
        bpg.BPG.bind(encoder="jctvc")
    with pytest.raises(CodecUnavailable, match="bit_depth must be 8..8"):
        bpg.BPG.bind(bit_depth=10)
    with pytest.raises(CodecUnavailable, match="level"):
        bpg.BPG.bind(level=0)


# ---------------------------------------------------------------------------------------------------------------
# The real libbpg


def _real_binaries():
    enc, dec = bpg.find_binary("bpgenc", bpg.ENC_ENV), bpg.find_binary("bpgdec", bpg.DEC_ENV)
    if enc and dec and "standin" not in bpg._help_of(enc) and "BPG Image Encoder" in bpg._help_of(enc):
        return enc, dec
    return None


real = pytest.mark.skipif(
    _real_binaries() is None,
    reason="no real bpgenc/bpgdec ($CODECBENCH_BPGENC, PATH or `codecbench tools build-bpg` cache)",
)


@real
def test_real_bpg_roundtrip(photo):
    codec = bpg.BPG.bind()
    assert "standin" not in codec.version() and codec.version().startswith("bpgenc 0.9")
    data = codec.encode(photo, 32)
    assert data[:4] == b"BPG\xfb"  # real BPG magic
    out = codec.decode(data)
    assert out.shape == photo.shape and psnr(photo, out) > 28
    assert codec.encode(photo, 32) == data  # deterministic
    assert codec.describe()["provenance"]["bpgenc"] == _real_binaries()[0]


@real
def test_real_bpg_rate_falls_with_qp(photo):
    codec = bpg.BPG.bind()
    sizes = [len(codec.encode(photo, qp)) for qp in (20, 32, 44)]
    assert sizes[0] > sizes[1] > sizes[2]


@real
def test_real_bpg_settings_reach_the_bitstream(photo):
    """The BPG header records chroma format, colour space and bit depth (byte 4: pixel_format<<5 | alpha<<4 |
    (bit_depth-8); byte 5: colour space<<4 | flags): what was asked for is what was coded."""
    img = photo[:64, :96].copy()
    cases = {("420", "ycbcr", 8): (1, 0, 0), ("444", "ycbcr", 8): (3, 0, 0), ("444", "rgb", 8): (3, 1, 0),
             ("444", "ycbcr", 10): (3, 0, 2)}
    for (chroma, space, depth), (fmt, cs, extra_bits) in cases.items():
        codec = bpg.BPG.bind(chroma=chroma, color_space=space, bit_depth=depth)
        data = codec.encode(img, 30)
        assert data[4] >> 5 == fmt and data[4] & 15 == extra_bits and data[5] >> 4 == cs, (chroma, space, depth)
        assert psnr(img, codec.decode(data)) > 30


@real
def test_real_bpg_level_changes_output(photo):
    img = photo[:128, :128].copy()
    fast, slow = (bpg.BPG.bind(level=m).encode(img, 30) for m in (1, 9))
    assert fast != slow


@real
def test_real_bpg_capabilities():
    caps = bpg.capabilities(_real_binaries()[0])
    assert "x265" in caps["encoders"] and caps["max_bit_depth"] >= 10


@real
@pytest.mark.skipif(_real_binaries() is None or "jctvc" not in bpg.capabilities(_real_binaries()[0])["encoders"],
                    reason="this bpgenc was built without the JCTVC encoder (build-bpg --jctvc)")
def test_real_bpg_jctvc(photo):
    codec = bpg.BPG.bind(encoder="jctvc", level=1)
    img = photo[:64, :64].copy()
    assert psnr(img, codec.decode(codec.encode(img, 30))) > 30
