"""BPG (Fabrice Bellard's HEVC-intra image format) through the external ``bpgenc``/``bpgdec`` programs.

The programs are found through ``$CODECBENCH_BPGENC`` / ``$CODECBENCH_BPGDEC`` (paths) or else on
PATH. They run without a shell, with a timeout, in a private temporary folder removed on every
path (success, failure, timeout). Encoding writes the image as PNG, runs
``bpgenc -q QP -f CHROMA -m LEVEL -b 8 -e ENCODER -o out.bpg in.png`` and returns the whole .bpg
file; decoding runs ``bpgdec -o out.png in.bpg`` and reads RGB uint8 H×W×3 back.
The knob is the HEVC quantiser qp 0–51: lower qp = more bits. The version is parsed from the
banner of ``bpgenc -h``.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .spec import CodecError, CodecSpec, Knob, Settings

ENC_ENV, DEC_ENV = "CODECBENCH_BPGENC", "CODECBENCH_BPGDEC"
TIMEOUT_S = 300.0  # per call; an 8-megapixel image at level 9 takes well under a minute


def find_binary(name: str, env: str) -> str | None:
    """Path of bpgenc/bpgdec: the env var when set (must exist), else PATH lookup; None if absent."""
    value = os.environ.get(env)
    if value:
        path = shutil.which(value) or (value if Path(value).is_file() else None)
        return str(Path(path).resolve()) if path else None
    return shutil.which(name)


def _run(argv: list[str], what: str, cwd: str) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise CodecError(f"{what} timed out after {TIMEOUT_S:.0f} s: {' '.join(argv)}") from None
    except OSError as exc:
        raise CodecError(f"{what} could not be started ({argv[0]}): {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).decode(errors="replace").strip()[-500:]
        raise CodecError(f"{what} failed with exit status {proc.returncode}: {tail}")
    return proc


def _binaries() -> tuple[str, str]:
    enc, dec = find_binary("bpgenc", ENC_ENV), find_binary("bpgdec", DEC_ENV)
    if not enc or not dec:
        raise CodecError(_missing_reason() or "bpgenc/bpgdec not found")
    return enc, dec


def _encode(image: np.ndarray, qp: int, s: Settings) -> bytes:
    from PIL import Image

    enc, _ = _binaries()
    with tempfile.TemporaryDirectory(prefix="codecbench-bpg-") as tmp:
        src, out = Path(tmp) / "in.png", Path(tmp) / "out.bpg"
        Image.fromarray(image, mode="RGB").save(src, format="PNG", compress_level=1)
        argv = [
            enc, "-q", str(int(qp)), "-f", str(s["chroma"]), "-m", str(int(s["level"])), "-b", "8",
            "-e", str(s["encoder"]), "-o", str(out), str(src),
        ]
        _run(argv, "bpgenc", tmp)
        if not out.is_file():
            raise CodecError(f"bpgenc wrote no output file ({' '.join(argv)})")
        return out.read_bytes()


def _decode(data: bytes, s: Settings) -> np.ndarray:
    from PIL import Image

    _, dec = _binaries()
    with tempfile.TemporaryDirectory(prefix="codecbench-bpg-") as tmp:
        src, out = Path(tmp) / "in.bpg", Path(tmp) / "out.png"
        src.write_bytes(data)
        _run([dec, "-o", str(out), str(src)], "bpgdec", tmp)
        try:
            with Image.open(io.BytesIO(out.read_bytes())) as im:
                rgb = im.convert("RGB")
        except Exception as exc:
            raise CodecError(f"bpgdec output could not be read as PNG: {exc}") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


@functools.lru_cache(maxsize=8)
def _version_of(path: str) -> str:
    try:
        proc = subprocess.run([path, "-h"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (proc.stdout + proc.stderr).decode(errors="replace")
    found = re.search(r"version\s+([0-9][^\s,]*(?:\s*\([^)]*\))?)", text)
    return found.group(1) if found else "unknown (no version in `bpgenc -h`)"


def _version() -> str:
    enc = find_binary("bpgenc", ENC_ENV)
    if not enc:
        return "not installed"
    return f"bpgenc {_version_of(enc)} ({enc})"


def _missing_reason() -> str | None:
    missing = []
    for name, env in (("bpgenc", ENC_ENV), ("bpgdec", DEC_ENV)):
        if find_binary(name, env) is None:
            where = f"{env}={os.environ[env]!r} is not an executable file" if os.environ.get(env) else "not found on PATH"
            missing.append(f"{name} {where}")
    if not missing:
        return None
    return "; ".join(missing) + f"; set {ENC_ENV}/{DEC_ENV} or install libbpg (https://bellard.org/bpg/)"


def _unavailable(s: Settings) -> str | None:
    reason = _missing_reason()
    if reason:
        return reason
    if str(s["chroma"]) not in ("420", "422", "444"):
        return f"chroma must be '420', '422' or '444', got {s['chroma']!r}"
    if not 1 <= int(s["level"]) <= 9:
        return f"level must be 1..9, got {s['level']!r}"
    return None


BPG = CodecSpec(
    name="bpg",
    summary="BPG (HEVC intra) via external bpgenc/bpgdec",
    library="libbpg (bpgenc/bpgdec)",
    version=_version,
    knob=Knob("qp", 0, 51, integer=True, increases_rate=False),
    encode=_encode,
    decode=_decode,
    defaults={"chroma": "420", "level": 8, "encoder": "x265"},
    unavailable=_unavailable,
    requires=("binary:bpgenc", "binary:bpgdec"),
)
