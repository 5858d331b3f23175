"""The ``sr`` codec's bitstream: a 15-byte header followed by the inner codec's complete bitstream.

Layout (little-endian):

    magic b"SR" (2) | version u8 | upscaler id u8 | flags u8 (bit 0: chosen by adaptive mode) |
    width u16 | height u16 (the ORIGINAL image's size) | scale u16 (per mille, 1..1000) | CRC32 u32 | inner bytes

The CRC32 covers every byte except its own four (header and inner stream), so truncation or corruption anywhere
is reported as :class:`SRBitstreamError` (a CodecError) before the inner decoder sees the bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .spec import CodecError

MAGIC = b"SR"
VERSION = 1
FLAG_ADAPTIVE = 1
_HEAD = struct.Struct("<2sBBBHHH")
_CRC = struct.Struct("<I")
HEADER_BYTES = _HEAD.size + _CRC.size  # 15
MAX_SIDE = 65535
MAX_PIXELS = 50_000_000


class SRBitstreamError(CodecError):
    """An ``sr`` bitstream is truncated, corrupted or malformed."""


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    scale_permille: int
    upscaler_id: int
    flags: int = 0

    @property
    def scale(self) -> float:
        return self.scale_permille / 1000.0

    @property
    def adaptive(self) -> bool:
        return bool(self.flags & FLAG_ADAPTIVE)


def write(head: Header, inner: bytes) -> bytes:
    """Header + inner stream, with the CRC32 over both."""
    if not (1 <= head.width <= MAX_SIDE and 1 <= head.height <= MAX_SIDE) or head.width * head.height > MAX_PIXELS:
        raise CodecError(f"sr codec: image size {head.width}×{head.height} outside 1..{MAX_SIDE} per side "
                         f"or above {MAX_PIXELS} pixels")
    if not (1 <= head.scale_permille <= 1000 and 0 <= head.upscaler_id <= 255 and 0 <= head.flags <= 255):
        raise CodecError(f"sr codec: header fields out of range: {head}")
    packed = _HEAD.pack(MAGIC, VERSION, head.upscaler_id, head.flags, head.width, head.height, head.scale_permille)
    crc = zlib.crc32(inner, zlib.crc32(packed))
    return packed + _CRC.pack(crc) + bytes(inner)


def read(data: bytes) -> tuple[Header, bytes]:
    """(header, inner bytes) of a stream; raises SRBitstreamError on any problem."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SRBitstreamError(f"sr bitstream must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_BYTES:
        raise SRBitstreamError(f"sr bitstream truncated: {len(data)} bytes, the header alone needs {HEADER_BYTES}")
    magic, version, up, flags, width, height, permille = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise SRBitstreamError(f"not an sr codec bitstream (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise SRBitstreamError(f"sr bitstream version {version} is not supported (this reader: {VERSION})")
    (crc,) = _CRC.unpack_from(data, _HEAD.size)
    if zlib.crc32(data[HEADER_BYTES:], zlib.crc32(data[: _HEAD.size])) != crc:
        raise SRBitstreamError("sr bitstream corrupted or truncated: CRC32 mismatch")
    if width < 1 or height < 1 or width * height > MAX_PIXELS or not (1 <= permille <= 1000):
        raise SRBitstreamError(f"sr bitstream header invalid: {width}×{height}, scale {permille}/1000")
    if len(data) == HEADER_BYTES:
        raise SRBitstreamError("sr bitstream has no inner stream after its header")
    return Header(width, height, permille, up, flags), data[HEADER_BYTES:]
