"""JPEG XL through pillow-jxl-plugin (libjxl via the jpegxl-rs Rust bindings).

RGB uint8 H×W×3 in, a bare JPEG XL codestream out (no ISOBMFF container, no metadata boxes).
The knob is libjxl's quality, a float 0–99.99 (lossy mode refuses 100) that libjxl maps to its butteraugli distance
(100 → 0, 90 → 1, 30 → 6.4, 0 → 25, the coarsest); higher quality = more bytes. ``effort``
(1–10) trades encoder time for size. Rate control treats the knob as continuous.
"""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path

import numpy as np

from .pillow_codecs import pil_decode
from .spec import CodecError, CodecSpec, Knob, Settings

# libjxl maps quality 100 to distance 0, which only lossless mode accepts ("The encoder API is used in an
# incorrect way"); 99.99 (distance ~0.1009) is the highest lossy quality, verified with libjxl 0.12.0.
MAX_LOSSY_QUALITY = 99.99


def _encode(image: np.ndarray, quality: float, s: Settings) -> bytes:
    import pillow_jxl  # noqa: F401  (registers the JXL format with Pillow)
    from PIL import Image

    buf = io.BytesIO()
    try:
        Image.fromarray(image, mode="RGB").save(
            buf, format="JXL", quality=float(quality), effort=int(s["effort"]),
            decoding_speed=int(s["decoding_speed"]), lossless=False, use_container=False,
        )
    except Exception as exc:
        raise CodecError(f"libjxl failed to encode a {image.shape[1]}×{image.shape[0]} image: {exc}") from exc
    return buf.getvalue()


def _decode(data: bytes, s: Settings) -> np.ndarray:
    import pillow_jxl  # noqa: F401

    return pil_decode(data, "JXL")


@functools.lru_cache(maxsize=1)
def libjxl_version() -> str:
    """libjxl version compiled into the plugin, read from the extension module's build strings."""
    import pillow_jxl.pillow_jxl as ext

    blob = Path(ext.__file__).read_bytes()
    found = re.search(rb"jpegxl-rs-([0-9.]+)\+libjxl-([0-9.]+[0-9])", blob)
    if not found:
        return "libjxl (version not recorded in the extension)"
    return f"libjxl {found.group(2).decode()} (jpegxl-rs {found.group(1).decode()})"


def _version() -> str:
    from importlib.metadata import version

    return f"{libjxl_version()} via pillow-jxl-plugin {version('pillow-jxl-plugin')}"


def _unavailable(s: Settings) -> str | None:
    try:
        import pillow_jxl  # noqa: F401
    except ImportError as exc:
        return f"pillow-jxl-plugin is not installed ({exc}); pip install pillow-jxl-plugin"
    if not 1 <= int(s["effort"]) <= 10:
        return f"effort must be 1..10, got {s['effort']!r}"
    return None


JPEGXL = CodecSpec(
    name="jpegxl",
    summary="JPEG XL (VarDCT, lossy) via pillow-jxl-plugin",
    library="libjxl (pillow-jxl-plugin)",
    version=_version,
    knob=Knob("quality", 0.0, MAX_LOSSY_QUALITY, integer=False, increases_rate=True),
    encode=_encode,
    decode=_decode,
    defaults={"effort": 7, "decoding_speed": 0},
    unavailable=_unavailable,
)
