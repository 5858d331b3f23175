"""JPEG 2000 (ISO 15444-1) through glymur and OpenJPEG.

Encoding: 9/7 irreversible wavelet with the irreversible colour transform (mct) by default, one
quality layer whose size OpenJPEG fits to a compression ratio. The knob is the target rate itself
(``bpp``, ``is_bpp=True``): the byte budget floor(bpp·H·W/8) minus a safety margin for the bytes
OpenJPEG's rate allocation leaves out (marker overhead, up to ~16 B seen on Kodak) is turned into
the ratio, so one encode lands at or just below the target. Should the stream still exceed the
budget (not seen on Kodak), it is re-encoded once with the excess taken off; ``stats`` counts that.

Output: the raw codestream (.j2k, SOC…EOC; headers included, no JP2 box wrapper).
Resolution levels: ``levels`` (default 5) capped at floor(log2(min side)) for small images.
"""

from __future__ import annotations

import math
import struct
import tempfile
from pathlib import Path

import numpy as np

from ._glymur_setup import import_glymur, library_source, openjpeg_version
from .spec import CodecError, CodecSpec, Knob, Settings, check_decode_size

MARGIN_BYTES = 32  # safety below the budget for OpenJPEG's unaccounted marker bytes
MARGIN_FRACTION = 0.001
stats = {"encodes": 0, "re_encodes": 0}  # re_encodes: second tries after an over-budget stream


def levels_for(height: int, width: int, levels: int) -> int:
    """Wavelet decomposition levels used for an image: at most floor(log2(min side))."""
    return max(0, min(int(levels), int(math.floor(math.log2(max(1, min(height, width)))))))


def _write(path: Path, image: np.ndarray, ratio: float, s: Settings) -> int:
    glymur = import_glymur()
    h, w = image.shape[:2]
    cb = int(s["codeblock"])
    glymur.Jp2k(
        str(path),
        data=image,
        cratios=[ratio],
        irreversible=s["wavelet"] == "9/7",
        mct=True,
        numres=levels_for(h, w, s["levels"]) + 1,
        cbsize=(cb, cb),
        prog=s["progression"],
    )
    return path.stat().st_size


def _encode(image: np.ndarray, bpp: float, s: Settings) -> bytes:
    h, w = image.shape[:2]
    budget = math.floor(bpp * h * w / 8.0)  # bytes the stream may take
    raw_bits = 24.0 * h * w
    aim = budget - MARGIN_BYTES - MARGIN_FRACTION * budget
    with tempfile.TemporaryDirectory(prefix="codecbench-j2k-") as tmp:
        path = Path(tmp) / "image.j2k"
        for attempt in range(2):
            ratio = max(1.0, raw_bits / (8.0 * max(aim, 1.0)))
            try:
                size = _write(path, image, ratio, s)
            except Exception as exc:
                raise CodecError(f"OpenJPEG failed to encode a {w}×{h} image at {bpp} bpp: {exc}") from exc
            stats["encodes"] += 1
            if size <= budget or aim <= 1.0:
                break
            stats["re_encodes"] += 1
            aim -= 2 * (size - budget) + MARGIN_BYTES
        return path.read_bytes()


def _check_siz(data: bytes) -> None:
    """Image size from the codestream's SIZ marker (right after SOC), refused before OpenJPEG allocates."""
    if len(data) >= 4 and data[:4] == b"\xff\x4f\xff\x51":
        if len(data) < 4 + 38:
            raise CodecError(f"JPEG 2000 stream of {len(data)} bytes is truncated inside its SIZ header")
        _lsiz, _rsiz, xsiz, ysiz, xo, yo = struct.unpack_from(">HHIIII", data, 4)
        check_decode_size("JPEG 2000", max(0, xsiz - xo), max(0, ysiz - yo), len(data))


def _decode(data: bytes, s: Settings) -> np.ndarray:
    _check_siz(bytes(data))
    glymur = import_glymur()
    with tempfile.TemporaryDirectory(prefix="codecbench-j2k-") as tmp:
        path = Path(tmp) / "image.j2k"
        path.write_bytes(data)
        try:
            out = glymur.Jp2k(str(path))[:]
        except Exception as exc:
            raise CodecError(f"OpenJPEG failed to decode {len(data)} bytes: {exc}") from exc
    if out.ndim != 3 or out.shape[2] != 3 or out.dtype != np.uint8:
        raise CodecError(f"JPEG 2000 stream decoded to {out.dtype} {out.shape}, expected RGB uint8")
    return np.ascontiguousarray(out)


def _version() -> str:
    return f"OpenJPEG {openjpeg_version()} via glymur {import_glymur().__version__}"


def _provenance(_s: Settings) -> dict[str, str]:
    return {"openjp2": library_source()}  # "system" or "bundled with Pillow (libopenjp2-<hash>.so.2.5.4)"


def _unavailable(s: Settings) -> str | None:
    try:
        version = openjpeg_version()
    except Exception as exc:  # glymur missing or broken
        return f"glymur could not be imported ({exc}); pip install glymur"
    source = library_source()
    if source.startswith("none found"):
        return (f"no libopenjp2 at the requested place ({source}); install OpenJPEG >= 2.4 or set "
                f"CODECBENCH_OPENJP2 to auto, system, bundled or an existing libopenjp2 path")
    if tuple(int(x) for x in version.split(".")[:2]) < (2, 4):
        return (
            f"glymur found no usable libopenjp2 (version {version}); install OpenJPEG >= 2.4 "
            f"(e.g. apt install libopenjp2-7) or set CODECBENCH_OPENJP2 to a libopenjp2 path"
        )
    if s["wavelet"] not in ("9/7", "5/3"):
        return f"wavelet must be '9/7' (irreversible) or '5/3' (reversible), got {s['wavelet']!r}"
    return None


JPEG2000 = CodecSpec(
    name="jpeg2000",
    summary="JPEG 2000 (9/7 + ICT, one layer, rate set by compression ratio) via glymur/OpenJPEG",
    library="OpenJPEG (glymur)",
    version=_version,
    knob=Knob("bpp", 0.001, 24.0, integer=False, increases_rate=True, is_bpp=True),
    encode=_encode,
    decode=_decode,
    defaults={"wavelet": "9/7", "levels": 5, "codeblock": 64, "progression": "LRCP"},
    choices={"wavelet": ("9/7", "5/3"), "progression": ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")},
    unavailable=_unavailable,
    provenance=_provenance,
)
