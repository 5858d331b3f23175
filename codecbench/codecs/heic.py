"""HEIC: HEVC intra coding in a HEIF container through pillow-heif (libheif; x265 encoder,
libde265 decoder).

RGB uint8 H×W×3 in, the complete .heic file out (ISOBMFF boxes, HEVC parameter sets and an nclx
colour box included; odd sizes are handled by libheif). The knob is libheif's lossy quality 0–100
(higher = more bytes). Decoding returns RGB uint8 H×W×3 with libheif's YCbCr→RGB conversion.
"""

from __future__ import annotations

import io

import numpy as np

from .spec import CodecError, CodecSpec, Knob, Settings, check_decode_size

_CHROMA = {"4:2:0": 420, "4:2:2": 422, "4:4:4": 444}


def _encode(image: np.ndarray, quality: int, s: Settings) -> bytes:
    import pillow_heif

    h, w = image.shape[:2]
    buf = io.BytesIO()
    try:
        pillow_heif.encode(
            "RGB", (w, h), np.ascontiguousarray(image).tobytes(), buf,
            quality=int(quality), chroma=_CHROMA[s["subsampling"]], enc_params={"preset": s["preset"]},
        )
    except Exception as exc:
        raise CodecError(f"libheif/x265 failed to encode a {w}×{h} image: {exc}") from exc
    return buf.getvalue()


def _decode(data: bytes, s: Settings) -> np.ndarray:
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        check_decode_size("HEIC", heif.size[0], heif.size[1], len(data))  # from the header, before decoding
        out = np.asarray(heif)
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(f"libheif/libde265 failed to decode {len(data)} bytes: {exc}") from exc
    if out.ndim == 3 and out.shape[2] == 4:
        out = out[:, :, :3]
    return np.ascontiguousarray(out, dtype=np.uint8)


def _version() -> str:
    import pillow_heif

    info = pillow_heif.libheif_info()
    enc = info.get("encoders", {}).get("x265") or info.get("HEIF") or "no HEVC encoder"
    dec = info.get("decoders", {}).get("libde265") or "no libde265"
    return f"libheif {info.get('libheif')} ({enc}; {dec}) via pillow-heif {pillow_heif.__version__}"


def _unavailable(s: Settings) -> str | None:
    try:
        import pillow_heif
    except ImportError as exc:
        return f"pillow-heif is not installed ({exc}); pip install pillow-heif"
    info = pillow_heif.libheif_info()
    if "x265" not in info.get("encoders", {}) and not info.get("HEIF"):
        return "libheif in this pillow-heif build has no HEVC (x265) encoder"
    if s["subsampling"] not in _CHROMA:
        return f"subsampling must be one of {sorted(_CHROMA)}, got {s['subsampling']!r}"
    return None


# libheif's x265 plugin maps quality q to one setting per pair (1, 2), (3, 4), ..., (99, 100), with 0 alone:
# 51 distinct settings, each named by its lowest quality (measured; tests/test_ratecontrol_levels.py).
HEIC_LEVELS = (0, *range(1, 101, 2))

HEIC = CodecSpec(
    name="heic",
    summary="HEIC (HEVC intra, x265 encoder / libde265 decoder) via pillow-heif",
    library="libheif + x265 + libde265 (pillow-heif)",
    version=_version,
    knob=Knob("quality", 0, 100, integer=True, increases_rate=True, levels=HEIC_LEVELS),
    encode=_encode,
    decode=_decode,
    defaults={"subsampling": "4:2:0", "preset": "slow"},
    choices={"subsampling": tuple(_CHROMA)},
    unavailable=_unavailable,
)
