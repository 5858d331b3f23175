"""Fault injection on bitstream headers (D4): streams claiming more than their payload can carry are refused
before any large allocation; the GAN payload must be used up exactly."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest

from codecbench.codecs.gan import bitstream
from codecbench.codecs.gan.bitstream import BitstreamError
from codecbench.codecs.spec import CodecError


def _stream(width: int, height: int, table: np.ndarray, payload: bytes, F: int = 8, L: int = 4) -> bytes:
    head = struct.pack("<2sB4sHHBBB", b"GC", 1, b"abcd", width, height, 0, F, L)
    body = table.astype(np.uint8).tobytes() + payload
    return head + struct.pack("<I", zlib.crc32(body, zlib.crc32(head))) + body


def test_gan_50_byte_stream_cannot_claim_7000x7000():
    table = np.tile(np.array([255, 1, 0, 0]), (8, 1))
    data = _stream(7000, 7000, table, b"")
    assert len(data) == 50
    t0 = time.perf_counter()
    with pytest.raises(BitstreamError, match="needs at least"):
        bitstream.read(data)
    assert time.perf_counter() - t0 < 1.0


def test_gan_lone_symbol_tables_refused_and_writer_never_makes_them():
    with pytest.raises(BitstreamError, match="single symbol"):
        bitstream.read(_stream(64, 64, np.tile(np.array([255, 0, 0, 0]), (8, 1)), b""))
    sym = np.zeros((8, 2, 2), dtype=np.int64)  # a flat image: one symbol per channel
    data = bitstream.write(sym, model_id=b"abcd", width=20, height=20, L=4)
    head, back = bitstream.read(data)
    assert np.array_equal(back, sym) and head.width == 20


def test_gan_payload_must_be_used_up_exactly():
    rng = np.random.default_rng(0)
    sym = rng.integers(0, 4, (8, 3, 4))
    good = bitstream.write(sym, model_id=b"abcd", width=60, height=40, L=4)
    assert np.array_equal(bitstream.read(good)[1], sym)
    head_end = struct.calcsize("<2sB4sHHBBB")

    def recrc(b: bytes) -> bytes:
        b = bytearray(b)
        crc = zlib.crc32(bytes(b[head_end + 4:]), zlib.crc32(bytes(b[:head_end])))
        b[head_end:head_end + 4] = struct.pack("<I", crc)
        return bytes(b)

    with pytest.raises(BitstreamError, match="left after the last symbol"):
        bitstream.read(recrc(good + b"\x01\x02\x03\x04"))
    tables_end = head_end + 4 + 8 * 4
    with pytest.raises(BitstreamError):
        bitstream.read(recrc(good[:tables_end]))  # payload removed, CRC consistent


def test_jpeg2000_siz_claim_refused_before_decoding():
    from codecbench.codecs import registry
    from codecbench.codecs.spec import CodecUnavailable

    try:
        codec = registry.create("jpeg2000")
    except CodecUnavailable as exc:
        pytest.skip(str(exc))
    img = np.ascontiguousarray(np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    data = bytearray(codec.encode(img, 1.0))
    assert data[:4] == b"\xff\x4f\xff\x51"
    data[12:16] = struct.pack(">I", 7_274_544)  # Ysiz: 64 × 7.27 M rows from a few hundred bytes
    t0 = time.perf_counter()
    with pytest.raises(CodecError, match="more than it could carry"):
        codec.decode(bytes(data))
    assert time.perf_counter() - t0 < 1.0


def test_pillow_header_claim_refused_before_decoding():
    from codecbench.codecs import registry

    codec = registry.create("jpeg")
    img = np.ascontiguousarray(np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    data = bytearray(codec.encode(img, 50))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 8000, 8000)  # SOF0 height, width: 64 MP from ~1.5 kB
    with pytest.raises(CodecError, match="more than it could carry"):
        codec.decode(bytes(data))
