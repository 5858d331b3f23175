"""Fuzz child for tests/test_faults_fuzz.py: decode mutated bitstreams of every codec, one JSON line per case.

    python tests/fuzz_decoders.py CASES_PER_FORMAT SEED

For each available codec (gan with a small untrained model, and every registry codec whose decoder runs here), a
real stream of a small photo crop is mutated (truncation, byte flips, insertions, random bytes, header edits; for
GAN streams also edits with the CRC repaired so the deeper checks run) and decoded through the codec API. Each
line: {"format", "case", "bytes", "outcome" ("ok" or the exception type), "codec_error" (bool), "s" (decode
seconds), "peak_mb" (growth of the peak RSS during the decode; VmHWM is reset through /proc/self/clear_refs)}.
The parent enforces the per-case time limit by killing this process when a line is late.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
import zlib

import numpy as np


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _photo() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[180:228, 200:264])  # 48×64 crop of a real photo


def _fix_gan_crc(b: bytearray) -> bytearray:
    head_end = struct.calcsize("<2sB4sHHBBB")
    if len(b) >= head_end + 4:
        crc = zlib.crc32(bytes(b[head_end + 4:]), zlib.crc32(bytes(b[:head_end])))
        b[head_end:head_end + 4] = struct.pack("<I", crc)
    return b


def _mutate(good: bytes, rng: np.random.Generator, kind: int, gan: bool) -> bytes:
    b = bytearray(good)
    if kind == 0:  # truncation
        b = b[: int(rng.integers(0, len(b)))]
    elif kind == 1:  # byte flips
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(0, len(b)))
            b[i] ^= int(rng.integers(1, 256))
    elif kind == 2:  # insertion or deletion
        i = int(rng.integers(0, len(b)))
        if rng.random() < 0.5:
            b = b[:i] + bytes(rng.integers(0, 256, int(rng.integers(1, 17)), dtype=np.uint8)) + b[i:]
        else:
            del b[i:i + int(rng.integers(1, 17))]
    elif kind == 3:  # header edits (sizes, flags): the first 32 bytes
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(0, min(32, len(b))))
            b[i] = int(rng.integers(0, 256))
    elif kind == 4:  # random bytes of a plausible length, keeping the first 4 bytes (the magic)
        b = b[:4] + bytearray(rng.integers(0, 256, int(rng.integers(0, 2 * len(good))), dtype=np.uint8).tobytes())
    else:  # payload truncation or extension with the container start intact
        cut = int(rng.integers(len(b) // 2, len(b)))
        b = b[:cut] + (bytes(rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8)) if rng.random() < .5
                       else b"")
    if gan and rng.random() < 0.6:
        b = _fix_gan_crc(b)
    return bytes(b)


def _codecs():
    """(name, decode function, a real stream) for every decoder that runs here."""
    from codecbench.codecs import registry
    from codecbench.codecs.spec import CodecUnavailable

    img = _photo()
    out = []
    for name in sorted(registry.specs()):
        if name == "gan":
            continue
        try:
            codec = registry.create(name)
        except (CodecUnavailable, ImportError, KeyError):
            continue
        knob = codec.knob
        value = (knob.low + knob.high) / 2 if not knob.is_bpp else 1.0
        side = codec.spec.min_side
        im = img if min(img.shape[:2]) >= side else np.pad(
            img, ((0, max(0, side - img.shape[0])), (0, max(0, side - img.shape[1])), (0, 0)), mode="edge")
        out.append((name, codec.decode, codec.encode(im, value)))
    import torch

    from codecbench.codecs.gan import codec as gan_codec
    from codecbench.codecs.gan.model import Autoencoder

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = Autoencoder(0.05, 8, 4).eval()
    mid = "0123abcd" * 8
    out.append(("gan", lambda data: gan_codec.decode(model, mid, data), gan_codec.encode(model, mid, img)))
    return out


def main() -> None:
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    from codecbench.codecs.spec import CodecError

    can_reset = _reset_peak()
    for fmt, decode, good in _codecs():
        rng = np.random.default_rng([seed, zlib.crc32(fmt.encode())])
        for case in range(n):
            data = good if case == 0 else _mutate(good, rng, case % 6, fmt == "gan")
            if can_reset:
                _reset_peak()
            base = _status_kb("VmRSS")
            t0 = time.perf_counter()
            try:
                img = decode(data)
                ok = isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
                outcome, codec_error = ("ok" if ok else "bad-output"), False
            except Exception as exc:  # the parent checks which types these are
                outcome, codec_error = type(exc).__name__, isinstance(exc, CodecError)
            dt = time.perf_counter() - t0
            peak = (_status_kb("VmHWM") - base) / 1024 if can_reset else float("nan")
            print(json.dumps({"format": fmt, "case": case, "bytes": len(data), "outcome": outcome,
                              "codec_error": codec_error, "s": dt, "peak_mb": peak}), flush=True)
    print(json.dumps({"done": True}), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
