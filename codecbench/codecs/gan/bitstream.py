"""The GAN codec's bitstream: a small versioned header, per-channel symbol frequencies, a range-coded payload.

Layout (little-endian; 18 bytes before the tables):

    magic  b"GC" (2) | version u8 | model id (first 4 bytes of the weights' SHA-256) | width u16 | height u16 |
    padding mode u8 (0 = replicate to the next multiple of 16, bottom/right) | F u8 | L u8 | CRC32 u32 |
    frequency tables: F·L u8 (channel-major; 0 = symbol unused in that channel) | payload: range coder words (u32)

The CRC32 covers every byte except its own four. Frequencies are counts rescaled to 0..255 with every used symbol
given at least 1, so each coded symbol has nonzero probability. Each channel's symbols (row-major over the latent
h×w) are coded i.i.d. with that channel's categorical model (constriction's range coder). Decoding validates
everything before allocating and raises :class:`BitstreamError` (a CodecError) on any problem.

Payload checks (issue 11, D4): every channel's table gives at least two symbols a nonzero frequency (the writer
adds frequency 1 to a neighbour of a lone symbol), so no symbol has probability 1 and each costs at least
-log2(max f / Σ f) bits. The reader refuses a stream whose payload is shorter than that minimum for the claimed
F·h·w symbols (so a 50-byte stream cannot claim 7000×7000, which needs ≥ 1 kB even with the most skewed tables),
and one whose payload is not exactly used up by those symbols (trailing or missing data).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..spec import CodecError

MAGIC = b"GC"
VERSION = 1
PAD_REPLICATE = 0
STRIDE = 16
_HEAD = struct.Struct("<2sB4sHHBBB")
_CRC = struct.Struct("<I")
HEADER_BYTES = _HEAD.size + _CRC.size
MAX_SIDE = 65535
MAX_PIXELS = 50_000_000  # largest image (H·W) written or read: guards allocation before decoding
MAX_SYMBOLS = 1 << 26  # latent symbols per image (F·h·w) the decoder accepts before allocating
_SLACK_BITS = 64  # the range coder's final state flush: payload bits allowed beyond the information content


class BitstreamError(CodecError):
    """A GAN bitstream is truncated, corrupted, malformed, or was made by another model."""


@dataclass(frozen=True)
class Header:
    model_id: bytes
    width: int
    height: int
    pad_mode: int
    F: int
    L: int

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(F, h, w) of the coded latent: sides padded to a multiple of 16 (and at least 32), divided by 16."""
        return (self.F, padded_side(self.height) // STRIDE, padded_side(self.width) // STRIDE)


def padded_side(n: int) -> int:
    """Side length after padding: next multiple of 16, at least 32 (instance norm needs >1 latent pixel)."""
    return max(2 * STRIDE, -(-int(n) // STRIDE) * STRIDE)


def _model(freqs: np.ndarray):
    import constriction

    p = freqs.astype(np.float64)
    return constriction.stream.model.Categorical(p / p.sum(), perfect=False)


def quantized_frequencies(symbols: np.ndarray, L: int) -> np.ndarray:
    """Per-channel u8 frequency table F×L from symbols F×h×w: rescaled counts, ≥1 wherever a symbol occurs."""
    F = symbols.shape[0]
    table = np.zeros((F, L), dtype=np.uint8)
    for f in range(F):
        counts = np.bincount(symbols[f].ravel(), minlength=L).astype(np.float64)
        scaled = np.rint(255.0 * counts / counts.sum())
        scaled = np.where(counts > 0, np.maximum(scaled, 1), 0)
        if np.count_nonzero(scaled) == 1:  # a lone symbol: give a neighbour frequency 1 (no probability 1)
            k = int(np.flatnonzero(scaled)[0])
            scaled[k + 1 if k + 1 < L else k - 1] = 1
        table[f] = np.minimum(scaled, 255).astype(np.uint8)
    return table


def min_payload_bits(table: np.ndarray, symbols_per_channel: int) -> float:
    """Fewest payload bits that can carry symbols_per_channel symbols in each channel with these tables:
    Σ_f n · -log2(max_f / Σ_f), with the probabilities rounded up by 2^-16 for the coder's own quantisation."""
    t = table.astype(np.float64)
    p_max = np.minimum(1.0, t.max(axis=1) / t.sum(axis=1) + 2.0**-16)
    return float(symbols_per_channel * -np.log2(p_max).sum())


def write(symbols: np.ndarray, *, model_id: bytes, width: int, height: int, L: int) -> bytes:
    """Pack symbols (int, F×h×w, values 0..L-1) of an image of width×height pixels into a bitstream."""
    symbols = np.asarray(symbols)
    F = symbols.shape[0]
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise CodecError(f"GAN codec: image size {width}×{height} outside 1..{MAX_SIDE} per side "
                         f"or above {MAX_PIXELS} pixels")
    expected = Header(model_id, width, height, PAD_REPLICATE, F, L).latent_shape
    if symbols.shape != expected:
        raise CodecError(f"GAN codec: latent shape {symbols.shape} does not match {expected} for {width}×{height}")
    if symbols.min() < 0 or symbols.max() >= L:
        raise CodecError(f"GAN codec: symbols outside 0..{L - 1}")
    if len(model_id) != 4 or not (1 <= F <= 255 and 2 <= L <= 255):
        raise CodecError("GAN codec: model id must be 4 bytes, F in 1..255, L in 2..255")
    table = quantized_frequencies(symbols, L)
    payload = _encode_payload(symbols.reshape(F, -1), table)
    head = _HEAD.pack(MAGIC, VERSION, model_id, width, height, PAD_REPLICATE, F, L)
    body = table.tobytes() + payload
    crc = zlib.crc32(body, zlib.crc32(head))
    return head + _CRC.pack(crc) + body


def _encode_payload(symbols: np.ndarray, table: np.ndarray) -> bytes:
    """Range-code symbols F×n channel by channel with the tables' models (the payload, little-endian words)."""
    import constriction

    enc = constriction.stream.queue.RangeEncoder()
    for f in range(symbols.shape[0]):
        enc.encode(np.ascontiguousarray(symbols[f].ravel(), dtype=np.int32), _model(table[f]))
    return np.asarray(enc.get_compressed(), dtype="<u4").tobytes()


def read_header(data: bytes) -> Header:
    """Parse and check the fixed header and the checksum (raises BitstreamError)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BitstreamError(f"GAN bitstream must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_BYTES:
        raise BitstreamError(f"GAN bitstream truncated: {len(data)} bytes, the header alone needs {HEADER_BYTES}")
    magic, version, mid, width, height, pad, F, L = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise BitstreamError(f"not a GAN codec bitstream (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise BitstreamError(f"GAN bitstream version {version} is not supported (this reader: {VERSION})")
    (crc,) = _CRC.unpack_from(data, _HEAD.size)
    if zlib.crc32(data[HEADER_BYTES:], zlib.crc32(data[: _HEAD.size])) != crc:
        raise BitstreamError("GAN bitstream corrupted or truncated: CRC32 mismatch")
    if width < 1 or height < 1 or pad != PAD_REPLICATE or F < 1 or L < 2:
        raise BitstreamError(f"GAN bitstream header invalid: {width}×{height}, padding {pad}, F={F}, L={L}")
    return Header(mid, width, height, pad, F, L)


def read(data: bytes, *, model_id: bytes | None = None, F: int | None = None, L: int | None = None):
    """Decode a bitstream into (header, symbols int64 F×h×w); checks it was made by the expected model."""
    import constriction

    head = read_header(data)
    data = bytes(data)
    if model_id is not None and head.model_id != model_id:
        raise BitstreamError(
            f"GAN bitstream made by model {head.model_id.hex()}, this codec's model is {model_id.hex()}"
        )
    if (F is not None and head.F != F) or (L is not None and head.L != L):
        raise BitstreamError(f"GAN bitstream has F={head.F}, L={head.L}; the model expects F={F}, L={L}")
    Fh, h, w = head.latent_shape
    if head.width * head.height > MAX_PIXELS:
        raise BitstreamError(f"GAN bitstream claims {head.width}×{head.height} pixels, above the limit {MAX_PIXELS}")
    if Fh * h * w > MAX_SYMBOLS:
        raise BitstreamError(f"GAN bitstream latent {Fh}×{h}×{w} exceeds the decoder's limit of {MAX_SYMBOLS}")
    tables_end = HEADER_BYTES + head.F * head.L
    if len(data) < tables_end:
        raise BitstreamError("GAN bitstream truncated inside the frequency tables")
    table = np.frombuffer(data, dtype=np.uint8, count=head.F * head.L, offset=HEADER_BYTES).reshape(head.F, head.L)
    if (table.sum(axis=1) == 0).any():
        raise BitstreamError("GAN bitstream has an empty frequency table")
    if ((table > 0).sum(axis=1) < 2).any():
        raise BitstreamError("GAN bitstream has a frequency table with a single symbol (not written by this codec)")
    payload = data[tables_end:]
    if len(payload) % 4:
        raise BitstreamError(f"GAN bitstream payload of {len(payload)} bytes is not whole 32-bit words")
    need = min_payload_bits(table, h * w)
    if 8 * len(payload) + _SLACK_BITS < need:
        raise BitstreamError(
            f"GAN bitstream truncated: {head.width}×{head.height} needs at least {need / 8:.0f} payload bytes "
            f"with these frequency tables, the stream has {len(payload)}"
        )
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    out = np.empty((head.F, h * w), dtype=np.int64)
    try:
        dec = constriction.stream.queue.RangeDecoder(words)
        for f in range(head.F):
            out[f] = dec.decode(_model(table[f]), h * w)
        exhausted = dec.maybe_exhausted()
    except Exception as exc:  # constriction reports invalid data with its own exception types
        raise BitstreamError(f"GAN bitstream payload cannot be decoded ({exc})") from None
    if not exhausted or _encode_payload(out, table) != payload:
        # maybe_exhausted() may tolerate a trailing word; re-encoding is exact: the writer is deterministic
        raise BitstreamError("GAN bitstream payload has data left after the last symbol, or is not the encoding "
                             "of its symbols (corrupted or padded)")
    if out.min() < 0 or out.max() >= head.L or (table[np.arange(head.F)[:, None], out] == 0).any():
        raise BitstreamError("GAN bitstream payload decodes to symbols outside the frequency tables")
    return head, out.reshape(head.F, h, w)
