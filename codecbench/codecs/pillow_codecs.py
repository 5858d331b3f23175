"""JPEG, WebP and AVIF through Pillow's bundled libraries (libjpeg-turbo, libwebp, libavif + aom/dav1d).

Each codec takes RGB uint8 H×W×3 and returns the complete file Pillow writes (JFIF / RIFF-WebP /
ISOBMFF-AVIF, headers included, no metadata added), so bpp = 8·len(bytes)/(H·W) counts every byte.
Decoding goes through the same library and returns RGB uint8 H×W×3.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .spec import CodecError, CodecSpec, Knob, Settings, check_decode_size


def _pil_encode(image: np.ndarray, fmt: str, **options: Any) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    try:
        Image.fromarray(image, mode="RGB").save(buf, format=fmt, **options)
    except (OSError, ValueError) as exc:
        raise CodecError(f"{fmt} encoder failed on a {image.shape[1]}×{image.shape[0]} image: {exc}") from exc
    return buf.getvalue()


def pil_decode(data: bytes, fmt: str) -> np.ndarray:
    """Decode a complete file of format fmt with Pillow to RGB uint8 H×W×3 (CodecError if corrupt)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            check_decode_size(fmt, im.size[0], im.size[1], len(data))  # from the header, before decoding
            im.load()
            rgb = im.convert("RGB")
    except CodecError:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, UnidentifiedImageError
        raise CodecError(f"{fmt} decoder failed on {len(data)} bytes: {exc}") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _feature_missing(feature: str, what: str):
    def check(_settings: Settings) -> str | None:
        from PIL import features

        if not features.check(feature):
            return (f"this Pillow build has no {what} support; install a Pillow wheel with {what} "
                    "(pip install -U pillow)")
        return None

    return check


# --- JPEG ---------------------------------------------------------------------------------------


def _jpeg_encode(image: np.ndarray, quality: int, s: Settings) -> bytes:
    return _pil_encode(
        image, "JPEG", quality=int(quality), subsampling=s["subsampling"], optimize=bool(s["optimize"]),
        progressive=bool(s["progressive"]),
    )


def _jpeg_version() -> str:
    from PIL import features

    turbo = features.version("libjpeg_turbo")
    return f"libjpeg-turbo {turbo}" if turbo else f"libjpeg {features.version('jpg')}"


JPEG = CodecSpec(
    name="jpeg",
    summary="JPEG (baseline; optimize=true: Huffman tables per image, set optimize=false for Pillow's default) "
            "via Pillow",
    library="libjpeg-turbo (Pillow)",
    version=_jpeg_version,
    knob=Knob("quality", 1, 100, integer=True, increases_rate=True, axis="ijg"),
    encode=_jpeg_encode,
    decode=lambda data, s: pil_decode(data, "JPEG"),
    # optimize=True (per-image Huffman tables; 23 % fewer bytes than Pillow's default at quality 10 on Kodak) is
    # explicit here and enters every point's codec key, so committed results keep their keys; CompressAI's JPEG uses
    # Pillow's default optimize=False: give settings = { optimize = false } to compare like with like.
    defaults={"subsampling": "4:2:0", "optimize": True, "progressive": False},
    choices={"subsampling": ("4:4:4", "4:2:2", "4:2:0")},
    unavailable=_feature_missing("jpg", "JPEG"),
)


# --- WebP ---------------------------------------------------------------------------------------


def _webp_encode(image: np.ndarray, quality: float, s: Settings) -> bytes:
    # lossy VP8 (always 4:2:0 YUV); libwebp's quality is a float; method 0-6 is the effort (6 = slowest, smallest)
    return _pil_encode(image, "WEBP", quality=float(quality), method=int(s["method"]), lossless=False, exact=False)


def _webp_version() -> str:
    from PIL import features

    return f"libwebp {features.version('webp')}"


WEBP = CodecSpec(
    name="webp",
    summary="WebP lossy (VP8 intra, 4:2:0) via Pillow",
    library="libwebp (Pillow)",
    version=_webp_version,
    knob=Knob("quality", 0.0, 100.0, integer=False, increases_rate=True),
    encode=_webp_encode,
    decode=lambda data, s: pil_decode(data, "WEBP"),
    defaults={"method": 6},
    unavailable=_feature_missing("webp", "WebP"),
)


# --- AVIF ---------------------------------------------------------------------------------------


# libavif (through Pillow) maps quality 0–100 onto 64 quantizers: the lowest quality of each class below gives the
# same stream as every quality up to the next (measured on Kodak and CamVid; tests/test_ratecontrol_levels.py).
AVIF_LEVELS = (0, 3, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 35, 37, 39, 40, 42, 44, 45, 47, 49, 50,
               52, 54, 55, 56, 58, 59, 60, 62, 63, 64, 66, 67, 68, 70, 71, 72, 74, 75, 76, 78, 79, 80, 82, 83, 84, 86,
               87, 88, 90, 91, 92, 94, 95, 96, 98, 99, 100)


def _avif_encode(image: np.ndarray, quality: int, s: Settings) -> bytes:
    return _pil_encode(
        image, "AVIF", quality=int(quality), speed=int(s["speed"]), subsampling=s["subsampling"],
        codec=s["encoder"], range="full",
    )


def _avif_version() -> str:
    from PIL import _avif, features

    return f"libavif {features.version('avif')} ({_avif.codec_versions()})"


def _avif_unavailable(s: Settings) -> str | None:
    reason = _feature_missing("avif", "AVIF")(s)
    if reason:
        return reason
    from PIL import _avif

    if not _avif.encoder_codec_available(s["encoder"]):
        return f"libavif in this Pillow build has no {s['encoder']!r} AV1 encoder ({_avif.codec_versions()})"
    return None


AVIF = CodecSpec(
    name="avif",
    summary="AVIF (AV1 intra, aom encoder, dav1d decoder) via Pillow",
    library="libavif + aom (Pillow)",
    version=_avif_version,
    knob=Knob("quality", 0, 100, integer=True, increases_rate=True, levels=AVIF_LEVELS),
    encode=_avif_encode,
    decode=lambda data, s: pil_decode(data, "AVIF"),
    defaults={"speed": 6, "subsampling": "4:2:0", "encoder": "aom"},
    choices={"subsampling": ("4:0:0", "4:2:0", "4:2:2", "4:4:4")},
    unavailable=_avif_unavailable,
)
