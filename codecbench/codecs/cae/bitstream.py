"""The CAE codec's bitstream: a fixed header, a per-channel symbol range and Laplace scale, a range-coded payload.

Layout (little-endian):

    magic b"CE" (2) | version u8 | model id (first 4 bytes of the weights' SHA-256) | width u16 | height u16 |
    K u8 | quantizer step float16 | CRC32 u32 |
    per channel: lowest symbol i8, highest symbol i8 (K·2 bytes) |
    per channel with lowest < highest: Laplace scale float16 | payload: range coder words (u32)

Symbols are the rounded PCA coefficients q = round(z / step), clipped to −127..127. A channel whose symbols are
all one value costs its two range bytes and nothing more. Each other channel's symbols (row-major over the latent
h×w) are coded i.i.d. with a Laplace distribution (mean 0, the stored scale) quantized to integer bins on the
channel's own range (constriction's QuantizedLaplace). The CRC32 covers every byte except its own four. Reading
validates everything before decoding and raises :class:`BitstreamError` (a CodecError) on any problem.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..spec import CodecError, check_decode_size

MAGIC = b"CE"
VERSION = 1
STRIDE = 8
MAX_SYMBOL = 127
MIN_SCALE = 0.05  # Laplace scale floor (symbols): keeps every bin's probability representable
_HEAD = struct.Struct("<2sB4sHHBe")
_CRC = struct.Struct("<I")
HEADER_BYTES = _HEAD.size + _CRC.size


class BitstreamError(CodecError):
    """A CAE bitstream is truncated, corrupted, malformed, or was made by another model."""


@dataclass(frozen=True)
class Header:
    model_id: bytes
    width: int
    height: int
    K: int
    step: float

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(K, h, w): the sides padded to a multiple of 8, divided by 8."""
        return (self.K, padded_side(self.height) // STRIDE, padded_side(self.width) // STRIDE)


def padded_side(n: int) -> int:
    """Side after replicate padding: the next multiple of 8, at least 8."""
    return max(STRIDE, -(-int(n) // STRIDE) * STRIDE)


def _f16(x: float) -> float:
    return float(np.float16(x))


def _laplace(lo: int, hi: int, scale: float):
    import constriction

    return constriction.stream.model.QuantizedLaplace(int(lo), int(hi), 0.0, float(scale))


def channel_scale(symbols: np.ndarray) -> float:
    """The Laplace scale (maximum likelihood for mean 0: mean |q|) of one channel's symbols, floored and rounded
    to float16 exactly as the reader will see it."""
    return _f16(max(MIN_SCALE, float(np.mean(np.abs(symbols)))))


def _encode_payload(symbols: np.ndarray, ranges: np.ndarray, scales: list[float]) -> bytes:
    import constriction

    enc = constriction.stream.queue.RangeEncoder()
    active = iter(scales)
    for k in range(symbols.shape[0]):
        lo, hi = int(ranges[k, 0]), int(ranges[k, 1])
        if lo < hi:
            enc.encode(np.ascontiguousarray(symbols[k], dtype=np.int32), _laplace(lo, hi, next(active)))
    return np.asarray(enc.get_compressed(), dtype="<u4").tobytes()


def write(symbols: np.ndarray, *, model_id: bytes, width: int, height: int, step: float) -> bytes:
    """Pack integer symbols K×h×w (clipped to ±127 by the caller) of a width×height image into a bitstream."""
    symbols = np.asarray(symbols)
    K = symbols.shape[0]
    if not (1 <= width <= 65535 and 1 <= height <= 65535):
        raise CodecError(f"CAE codec: image size {width}×{height} outside 1..65535 per side")
    expected = Header(model_id, width, height, K, step).latent_shape
    if symbols.shape != expected:
        raise CodecError(f"CAE codec: latent shape {symbols.shape} does not match {expected} for {width}×{height}")
    if np.abs(symbols).max(initial=0) > MAX_SYMBOL or len(model_id) != 4 or not 1 <= K <= 255:
        raise CodecError("CAE codec: symbols beyond ±127, model id not 4 bytes, or K outside 1..255")
    if _f16(step) != step or not step > 0:
        raise CodecError(f"CAE codec: quantizer step {step} is not a positive float16 value")
    flat = symbols.reshape(K, -1)
    ranges = np.stack([flat.min(axis=1), flat.max(axis=1)], axis=1).astype(np.int8)
    scales = [channel_scale(flat[k]) for k in range(K) if ranges[k, 0] < ranges[k, 1]]
    payload = _encode_payload(flat, ranges, scales)
    head = _HEAD.pack(MAGIC, VERSION, model_id, width, height, K, step)
    body = ranges.tobytes() + np.asarray(scales, dtype="<f2").tobytes() + payload
    return head + _CRC.pack(zlib.crc32(body, zlib.crc32(head))) + body


def read(data: bytes, *, model_id: bytes | None = None, K: int | None = None) -> tuple[Header, np.ndarray]:
    """Decode a bitstream into (header, symbols int64 K×h×w); checks the model id and K when given."""
    import constriction

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BitstreamError(f"CAE bitstream must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_BYTES:
        raise BitstreamError(f"CAE bitstream truncated: {len(data)} bytes, the header alone needs {HEADER_BYTES}")
    magic, version, mid, width, height, k, step = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise BitstreamError(f"not a CAE codec bitstream (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise BitstreamError(f"CAE bitstream version {version} is not supported (this reader: {VERSION})")
    (crc,) = _CRC.unpack_from(data, _HEAD.size)
    if zlib.crc32(data[HEADER_BYTES:], zlib.crc32(data[: _HEAD.size])) != crc:
        raise BitstreamError("CAE bitstream corrupted or truncated: CRC32 mismatch")
    if width < 1 or height < 1 or k < 1 or not (np.isfinite(step) and step > 0):
        raise BitstreamError(f"CAE bitstream header invalid: {width}×{height}, K={k}, step={step}")
    if model_id is not None and mid != model_id:
        raise BitstreamError(f"CAE bitstream made by model {mid.hex()}, this codec's model is {model_id.hex()}")
    if K is not None and k != K:
        raise BitstreamError(f"CAE bitstream has K={k}; the model expects K={K}")
    head = Header(mid, width, height, k, float(step))
    check_decode_size("CAE", width, height, len(data))
    _, h, w = head.latent_shape
    off = HEADER_BYTES + 2 * k
    if len(data) < off:
        raise BitstreamError("CAE bitstream truncated inside the channel ranges")
    ranges = np.frombuffer(data, dtype=np.int8, count=2 * k, offset=HEADER_BYTES).reshape(k, 2).astype(np.int64)
    if (ranges[:, 0] > ranges[:, 1]).any() or np.abs(ranges).max() > MAX_SYMBOL:
        raise BitstreamError("CAE bitstream has a channel range with lowest > highest or beyond ±127")
    n_active = int((ranges[:, 0] < ranges[:, 1]).sum())
    if len(data) < off + 2 * n_active:
        raise BitstreamError("CAE bitstream truncated inside the channel scales")
    scales = np.frombuffer(data, dtype="<f2", count=n_active, offset=off).astype(np.float64)
    if not (np.isfinite(scales).all() and (scales >= _f16(MIN_SCALE)).all()):
        raise BitstreamError("CAE bitstream has a non-finite or too small Laplace scale")
    payload = data[off + 2 * n_active:]
    if len(payload) % 4:
        raise BitstreamError(f"CAE bitstream payload of {len(payload)} bytes is not whole 32-bit words")
    out = np.empty((k, h * w), dtype=np.int64)
    out[:] = ranges[:, :1]
    try:
        dec = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
        active = iter(scales.tolist())
        for c in range(k):
            if ranges[c, 0] < ranges[c, 1]:
                out[c] = dec.decode(_laplace(ranges[c, 0], ranges[c, 1], next(active)), h * w)
    except Exception as exc:  # constriction reports invalid data with its own exception types
        raise BitstreamError(f"CAE bitstream payload cannot be decoded ({exc})") from None
    if _encode_payload(out, ranges, scales.tolist()) != payload:
        raise BitstreamError("CAE bitstream payload is not the encoding of its symbols (corrupted or padded)")
    return head, out.reshape(k, h, w)
