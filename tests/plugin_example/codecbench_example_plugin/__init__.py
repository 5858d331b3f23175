"""An example third-party codecbench codec, registered through the ``codecbench.codecs`` entry point.

``downpng``: shrink the RGB uint8 H×W×3 image by an integer factor (box filter, i.e. the mean of
each factor×factor block), store the small image as lossless PNG behind an 8-byte header holding
the original height and width (two big-endian uint32), and on decode enlarge it back with bicubic
interpolation. It is a real, if crude, lossy codec: the knob ``factor`` 1–8 (1 = lossless PNG; a
higher factor gives fewer bytes). All bytes, header included, count towards bpp.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image, features

from codecbench.codecs.spec import CodecError, CodecSpec, Knob, check_decode_size

_HEADER = struct.Struct(">II")


def _encode(image: np.ndarray, factor: int, settings) -> bytes:
    h, w = image.shape[:2]
    small = Image.fromarray(image, mode="RGB")
    if factor > 1:
        small = small.resize((max(1, -(-w // factor)), max(1, -(-h // factor))), Image.Resampling.BOX)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=False, compress_level=int(settings["compress_level"]))
    return _HEADER.pack(h, w) + buf.getvalue()


def _decode(data: bytes, settings) -> np.ndarray:
    if len(data) < _HEADER.size:
        raise CodecError(f"downpng stream too short ({len(data)} bytes)")
    h, w = _HEADER.unpack_from(data)
    check_decode_size("downpng", w, h, len(data))  # a corrupted header must not make us enlarge to gigapixels
    try:
        with Image.open(io.BytesIO(data[_HEADER.size:]), formats=["PNG"]) as im:
            check_decode_size("downpng", im.size[0], im.size[1], len(data))  # the PNG's own header too
            small = im.convert("RGB")
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(f"downpng: PNG payload unreadable: {exc}") from exc
    if small.size != (w, h):
        small = small.resize((w, h), Image.Resampling.BICUBIC)
    return np.ascontiguousarray(np.asarray(small, dtype=np.uint8))


DOWNPNG = CodecSpec(
    name="downpng",
    summary="example plugin: box-downsample by an integer factor + lossless PNG, bicubic upsampling",
    library="zlib via Pillow (PNG)",
    version=lambda: f"codecbench-example-plugin 0.1.0, zlib {features.version('zlib')}",
    knob=Knob("factor", 1, 8, integer=True, increases_rate=False),
    encode=_encode,
    decode=_decode,
    defaults={"compress_level": 9},
)
