"""The GAN codec's encode+decode speed in float32 and bf16 autocast, measured in one run (issue 14, item 6).

    python bench/gan_codec_speed.py [--device auto|cpu|cuda] [--size 1024x2048] [--frames 10] [--checkpoint gan_f8_l4]
                                    [--threads 2] [--out FILE.json]

Frames: the embedded dataset's photos (RGB uint8), resized bicubically to --size (H x W). Each precision codes the
same frames through the real bitstream (encode = encoder + quantizer + entropy coder; decode = entropy decoder +
generator), after one untimed warm-up frame; CUDA is synchronised around every timed call. Prints frames/s of
encode+decode, of encode and of decode for each precision, the bf16/fp32 ratio, the share of latent symbols that
bf16 changes, the PSNR (dB) of each precision's reconstruction against the original, and the PSNR of bf16's against
fp32's. Only timings of the same run are compared. Meant for a lent GPU (``--device cuda``); on the CPU use a small
--size (bf16 autocast on the CPU is emulated and slow).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import numpy as np


def _frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    from PIL import Image

    from codecbench.datasets import load_dataset, load_image

    refs = load_dataset("embedded").images
    out = []
    for i in range(count):
        im = Image.fromarray(load_image(refs[i % len(refs)]))
        out.append(np.asarray(im.resize((size[1], size[0]), Image.Resampling.BICUBIC), dtype=np.uint8))
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def code_frames(checkpoint: str, frames: list[np.ndarray], device: str, precision: str) -> dict:
    """Encode and decode every frame at ``precision`` ("fp32" or "bf16"): per-frame seconds, symbols, decodes."""
    import torch

    from codecbench.codecs.gan import bitstream, codec
    from codecbench.codecs.gan.checkpoint import load_model
    from codecbench.device import resolve_device

    dev = resolve_device(device)
    lm = load_model(checkpoint, dev)

    def autocast():
        if precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(dev.type, dtype=torch.bfloat16)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def one(image):
        sync()
        t0 = time.perf_counter()
        with autocast():
            data = codec.encode(lm.model, lm.model_id, image, dev)
        sync()
        t1 = time.perf_counter()
        with autocast():
            rec = codec.decode(lm.model, lm.model_id, data, dev)
        sync()
        return data, rec, t1 - t0, time.perf_counter() - t1

    one(frames[0])  # warm-up: kernels, caches, allocator
    enc_s, dec_s, symbols, recs, nbytes = [], [], [], [], 0
    for image in frames:
        data, rec, te, td = one(image)
        enc_s.append(te)
        dec_s.append(td)
        nbytes += len(data)
        symbols.append(bitstream.read(data)[1])
        recs.append(rec)
    px = sum(f.shape[0] * f.shape[1] for f in frames)
    return {"enc_s": enc_s, "dec_s": dec_s, "symbols": symbols, "recs": recs, "bpp": 8 * nbytes / px,
            "model_id": lm.model_id, "device": str(dev)}


def compare(checkpoint: str, frames: list[np.ndarray], device: str) -> dict:
    """fp32 against bf16 on the same frames, in one run (see the module docstring)."""
    runs = {p: code_frames(checkpoint, frames, device, p) for p in ("fp32", "bf16")}
    out: dict = {"checkpoint": checkpoint, "device": runs["fp32"]["device"], "frames": len(frames),
                 "size": list(frames[0].shape[:2]), "model_id": runs["fp32"]["model_id"]}
    for p, r in runs.items():
        enc, dec = sum(r["enc_s"]), sum(r["dec_s"])
        out[p] = {"fps": len(frames) / (enc + dec), "encode_fps": len(frames) / enc, "decode_fps": len(frames) / dec,
                  "bpp": r["bpp"], "psnr_db": float(np.mean([_psnr(f, x) for f, x in zip(frames, r["recs"])]))}
    changed = sum(int((a != b).sum()) for a, b in zip(runs["fp32"]["symbols"], runs["bf16"]["symbols"]))
    total = sum(a.size for a in runs["fp32"]["symbols"])
    out["bf16_over_fp32_fps"] = out["bf16"]["fps"] / out["fp32"]["fps"]
    out["bf16_symbols_changed"] = changed / total
    out["bf16_vs_fp32_psnr_db"] = float(np.mean([_psnr(a, b) for a, b in zip(runs["fp32"]["recs"],
                                                                               runs["bf16"]["recs"])]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", default="1024x2048", help="H x W of the coded frames (default 1024x2048)")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--checkpoint", default="gan_f8_l4")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (pinned, so timings compare)")
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    h, w = (int(v) for v in args.size.lower().split("x"))
    res = compare(args.checkpoint, _frames((h, w), args.frames), args.device)
    res["torch_threads"] = args.threads
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"{res['checkpoint']} on {res['device']}, {res['frames']} frames of {h}x{w}:")
    for p in ("fp32", "bf16"):
        r = res[p]
        print(f"  {p}: {r['fps']:.2f} frames/s encode+decode (encode {r['encode_fps']:.2f}, decode "
              f"{r['decode_fps']:.2f}), {r['bpp']:.4f} bpp, {r['psnr_db']:.2f} dB")
    print(f"  bf16/fp32 speed {res['bf16_over_fp32_fps']:.2f}x; bf16 changes {100 * res['bf16_symbols_changed']:.3f} % "
          f"of the symbols; bf16 against fp32 reconstruction {res['bf16_vs_fp32_psnr_db']:.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
