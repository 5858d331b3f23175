"""BPG (Fabrice Bellard's HEVC-intra image format) through the external ``bpgenc``/``bpgdec`` programs.

Binaries, first match wins: ``$CODECBENCH_BPGENC`` / ``$CODECBENCH_BPGDEC`` (paths or names, must exist), else
PATH, else the newest complete build in ``$CODECBENCH_CACHE/bpg/*/bin`` (made by ``codecbench tools build-bpg``).
They run without a shell, in their own process group (killed whole on a timeout or when the point's deadline
fires), in a private temporary folder removed on every path. The per-call timeout is ``$CODECBENCH_BPG_TIMEOUT``
seconds (default 300); a suite's per-point ``timeout`` also stops a running bpgenc.

Encoding writes the image as PNG and runs
``bpgenc -q QP -f CHROMA -c COLOR_SPACE -b BIT_DEPTH -e ENCODER -m LEVEL -o out.bpg in.png``; the result is the
whole .bpg file (bpp counts its header). Decoding runs ``bpgdec -o out.png in.bpg`` (8-bit PNG) and reads RGB
uint8 H×W×3 back. Images under 64 px per side are refused (x265 in bpgenc 0.9.8 crashes on
narrow ones); bpgdec decodes a truncated stream to a partial picture and exits 0, so truncation goes undetected.
Every flag is explicit and recorded with each point: chroma 420|422|444, color_space
ycbcr|rgb|ycgco|ycbcr_bt709|ycbcr_bt2020, bit_depth 8.. (the maximum ``bpgenc -h`` states), encoder x265|jctvc
(those ``bpgenc -h`` lists), level 1–9. The knob is the HEVC quantiser qp 0–51: lower qp = more bits. The version
is parsed from the banner of ``bpgenc -h``; the binary's path goes into each point's details.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from codecbench.tools.bpgbuild import DEC_ENV, ENC_ENV, bpg_cache_root
from codecbench.tools.proc import ProcStartError, ProcTimeout, run_group

from .spec import CodecError, CodecSpec, Knob, Settings

TIMEOUT_ENV = "CODECBENCH_BPG_TIMEOUT"
TIMEOUT_S = 300.0  # default per call; an 8-megapixel image at level 9 takes well under a minute
# bpgenc 0.9.8's x265 crashes (SIGSEGV) on narrow images: 8-bit below ~28 px wide, 10-bit 4:2:0 below ~60 px
# (probed here on 1–100 px crops); 64 px per side encoded in every trial, so smaller images are refused clearly.
MIN_SIDE = 64
CHROMAS = ("420", "422", "444")
COLOR_SPACES = ("ycbcr", "rgb", "ycgco", "ycbcr_bt709", "ycbcr_bt2020")


def timeout_s() -> float:
    """Per-call timeout in seconds: $CODECBENCH_BPG_TIMEOUT when set (positive number), else TIMEOUT_S."""
    value = os.environ.get(TIMEOUT_ENV)
    if not value:
        return TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        raise CodecError(f"{TIMEOUT_ENV}={value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise CodecError(f"{TIMEOUT_ENV}={value!r} must be positive")
    return seconds


def cached_bin_dirs() -> list[Path]:
    """bin/ folders of complete cached builds (build.json present), newest first."""
    root = bpg_cache_root()
    if not root.is_dir():
        return []
    builds = [p for p in root.iterdir() if not p.name.startswith(".") and (p / "build.json").is_file()]
    builds.sort(key=lambda p: (p / "build.json").stat().st_mtime, reverse=True)
    return [p / "bin" for p in builds]


def find_binary(name: str, env: str) -> str | None:
    """Path of bpgenc/bpgdec: the env var when set (must exist), else PATH, else the cache; None if absent."""
    value = os.environ.get(env)
    if value:
        path = shutil.which(value) or (value if Path(value).is_file() else None)
        return str(Path(path).resolve()) if path else None
    found = shutil.which(name)
    if found:
        return found
    for folder in cached_bin_dirs():
        if (folder / name).is_file() and os.access(folder / name, os.X_OK):
            return str(folder / name)
    return None


def _run(argv: list[str], what: str, cwd: str) -> subprocess.CompletedProcess:
    limit = timeout_s()
    try:
        proc = run_group(argv, timeout_s=limit, cwd=cwd)
    except ProcTimeout:
        raise CodecError(f"{what} timed out after {limit:g} s (set {TIMEOUT_ENV} to change): "
                         f"{' '.join(argv)}") from None
    except ProcStartError as exc:
        raise CodecError(f"{what} could not be started ({argv[0]}): {exc}") from exc
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        raise CodecError(f"{what} was killed by {name} (a crash of the binary): {' '.join(argv)}")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).decode(errors="replace").strip()[-500:]
        raise CodecError(f"{what} failed with exit status {proc.returncode}: {tail}")
    return proc


def _binaries() -> tuple[str, str]:
    enc, dec = find_binary("bpgenc", ENC_ENV), find_binary("bpgdec", DEC_ENV)
    if not enc or not dec:
        raise CodecError(_missing_reason() or "bpgenc/bpgdec not found")
    return enc, dec


def encoder_argv(enc: str, qp: int, s: Settings, src: str, out: str) -> list[str]:
    """The bpgenc command line for qp and settings s (every option explicit)."""
    return [enc, "-q", str(int(qp)), "-f", str(s["chroma"]), "-c", str(s["color_space"]),
            "-b", str(int(s["bit_depth"])), "-e", str(s["encoder"]), "-m", str(int(s["level"])),
            "-o", out, src]


def _encode(image: np.ndarray, qp: int, s: Settings) -> bytes:
    from PIL import Image

    enc, _ = _binaries()
    with tempfile.TemporaryDirectory(prefix="codecbench-bpg-") as tmp:
        src, out = Path(tmp) / "in.png", Path(tmp) / "out.bpg"
        Image.fromarray(image, mode="RGB").save(src, format="PNG", compress_level=1)
        argv = encoder_argv(enc, qp, s, str(src), str(out))
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
        if not out.is_file():
            raise CodecError("bpgdec exited 0 but wrote no output file")
        try:
            with Image.open(io.BytesIO(out.read_bytes())) as im:
                rgb = im.convert("RGB")
        except Exception as exc:
            raise CodecError(f"bpgdec output could not be read as PNG: {exc}") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


@functools.lru_cache(maxsize=8)
def _help_of(path: str) -> str:
    """Text of ``bpgenc -h`` ('' when it cannot be run; it exits with status 1 by design)."""
    try:
        proc = run_group([path, "-h"], timeout_s=10)
    except (ProcStartError, ProcTimeout):
        return ""
    return (proc.stdout + proc.stderr).decode(errors="replace")


def _version_of(path: str) -> str:
    text = _help_of(path)
    if not text:
        return "unknown (`bpgenc -h` could not be run)"
    found = re.search(r"version\s+([0-9][^\s,]*(?:\s*\([^)]*\))?)", text)
    return found.group(1) if found else "unknown (no version in `bpgenc -h`)"


def capabilities(path: str) -> dict:
    """What ``bpgenc -h`` says this binary supports: {"encoders": [...], "max_bit_depth": int}."""
    text = _help_of(path)
    enc = re.search(r"select the HEVC encoder \(([^,)]*)", text)
    depth = re.search(r"set the bit depth \(8 to (\d+)", text)
    return {"encoders": enc.group(1).split() if enc else ["x265"],
            "max_bit_depth": int(depth.group(1)) if depth else 8}


def _version() -> str:
    enc = find_binary("bpgenc", ENC_ENV)
    return f"bpgenc {_version_of(enc)}" if enc else "not installed"


def _provenance(_s: Settings) -> dict:
    """Where the binaries are (and, for a codecbench build, the source tarball's sha256): not part of the key."""
    enc = find_binary("bpgenc", ENC_ENV)
    out = {"bpgenc": enc, "bpgdec": find_binary("bpgdec", DEC_ENV)}
    manifest = Path(enc).parent.parent / "build.json" if enc else None
    if manifest and manifest.is_file():
        try:
            out["build_source_sha256"] = json.loads(manifest.read_text(encoding="utf-8")).get("source_sha256")
        except (OSError, ValueError):
            pass
    return out


def _missing_reason() -> str | None:
    missing = []
    for name, env in (("bpgenc", ENC_ENV), ("bpgdec", DEC_ENV)):
        if find_binary(name, env) is None:
            where = (f"{env}={os.environ[env]!r} is not an executable file" if os.environ.get(env)
                     else "not found on PATH")
            missing.append(f"{name} {where}")
    if not missing:
        return None
    return ("; ".join(missing) + f"; no complete build in {bpg_cache_root()}; set {ENC_ENV}/{DEC_ENV}, or build "
            "libbpg with `codecbench tools build-bpg --source libbpg-0.9.8.tar.gz` (https://bellard.org/bpg/)")


def _unavailable(s: Settings) -> str | None:
    reason = _missing_reason()
    if reason:
        return reason
    if str(s["chroma"]) not in CHROMAS:
        return f"chroma must be one of {', '.join(CHROMAS)}, got {s['chroma']!r}"
    if str(s["color_space"]) not in COLOR_SPACES:
        return f"color_space must be one of {', '.join(COLOR_SPACES)}, got {s['color_space']!r}"
    if not 1 <= int(s["level"]) <= 9:
        return f"level must be 1..9, got {s['level']!r}"
    caps = capabilities(find_binary("bpgenc", ENC_ENV) or "")
    if str(s["encoder"]) not in caps["encoders"]:
        return f"encoder {s['encoder']!r} is not built into this bpgenc (it has: {', '.join(caps['encoders'])})"
    if not 8 <= int(s["bit_depth"]) <= caps["max_bit_depth"]:
        return f"bit_depth must be 8..{caps['max_bit_depth']} for this bpgenc, got {s['bit_depth']!r}"
    return None


BPG = CodecSpec(
    name="bpg",
    summary="BPG (HEVC intra) via external bpgenc/bpgdec",
    library="libbpg (bpgenc/bpgdec)",
    version=_version,
    knob=Knob("qp", 0, 51, integer=True, increases_rate=False),
    encode=_encode,
    decode=_decode,
    defaults={"chroma": "420", "color_space": "ycbcr", "bit_depth": 8, "encoder": "x265", "level": 8},
    unavailable=_unavailable,
    requires=("binary:bpgenc", "binary:bpgdec"),
    min_side=MIN_SIDE,
    provenance=_provenance,
)
