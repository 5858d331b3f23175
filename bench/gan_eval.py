"""Evaluate shipped GAN codec checkpoints on CamVid test beside JPEG 2000 at the same rate.

For each image: GAN encode/decode through the real bitstream (real bpp = all bytes over the original pixels),
then JPEG 2000 (registry codec ``jpeg2000``, whose knob is the target bpp) at the GAN's real bpp of that image
(rate control mode "below": never above it). PSNR (dB, RGB) and MS-SSIM from codecbench.metrics.fidelity.
Writes results/gan/eval_camvid_test.csv (one row per image and codec), results/gan/eval_camvid_test.md (means)
and a strip of sample reconstructions per checkpoint (original | GAN | JPEG 2000).

    python bench/gan_eval.py --limit 233            # all of CamVid test (default: every shipped checkpoint)
    python bench/gan_eval.py --checkpoint gan_f8_l4 --limit 40
"""

from __future__ import annotations

import argparse
import csv
import importlib
import math
import time
from pathlib import Path

import numpy as np
import torch


def _codec(name: str, **settings):
    from codecbench.codecs import registry

    try:
        return registry.create(name, **settings)
    except (ImportError, ModuleNotFoundError):  # another built-in failed to import: bind this one directly
        module, _, attr = registry.BUILTIN[name].partition(":")
        return getattr(importlib.import_module(module), attr).bind(**settings)


def evaluate(checkpoints: list[str], limit: int | None, out_dir: Path, samples: int = 3) -> list[dict]:
    from PIL import Image

    from codecbench.codecs.ratecontrol import match_bpp
    from codecbench.datasets import load_dataset, load_image
    from codecbench.metrics.fidelity import fidelity

    ds = load_dataset("camvid", split="test", limit=limit)
    j2k = _codec("jpeg2000")
    rows = []
    for ck in checkpoints:
        ck = str(ck)
        gan = _codec("gan", checkpoint=ck, device="cpu")
        ck = Path(ck).stem if ck.endswith(".safetensors") else ck
        det = gan.describe()["details"]
        strips = []
        for k, ref in enumerate(ds.images):
            img = load_image(ref)
            h, w = img.shape[:2]
            t0 = time.perf_counter()
            data = gan.encode(img)
            t1 = time.perf_counter()
            rec = gan.decode(data)
            t2 = time.perf_counter()
            bpp = 8 * len(data) / (h * w)
            m = fidelity(img, rec, ("psnr", "ms_ssim"))
            rows.append({"checkpoint": ck, "codec": "gan", "image": ref.id, "bpp": bpp, "bound_bpp":
                         det["nominal_bpp"], **m, "encode_s": t1 - t0, "decode_s": t2 - t1})
            r = match_bpp(j2k, img, bpp, mode="below")
            jrec = j2k.decode(r.data)
            mj = fidelity(img, jrec, ("psnr", "ms_ssim"))
            rows.append({"checkpoint": ck, "codec": "jpeg2000", "image": ref.id, "bpp": r.bpp,
                         "bound_bpp": det["nominal_bpp"], **mj, "encode_s": math.nan, "decode_s": math.nan})
            if k < samples:
                strips.append(np.concatenate([img, rec, jrec], axis=1))
        if strips:
            Image.fromarray(np.concatenate(strips, axis=0)).save(out_dir / f"samples_{ck}_camvid_test.png")
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    keys = sorted({(r["checkpoint"], r["codec"]) for r in rows}, key=lambda k: (k[0], k[1] != "gan"))
    for ck, cd in keys:
        sel = [r for r in rows if r["checkpoint"] == ck and r["codec"] == cd]
        out.append({
            "checkpoint": ck, "codec": cd, "images": len(sel),
            "bound_bpp": sel[0]["bound_bpp"],
            "mean_bpp": float(np.mean([r["bpp"] for r in sel])),
            "max_bpp": float(np.max([r["bpp"] for r in sel])),
            "mean_psnr_db": float(np.mean([r["psnr"] for r in sel])),
            "mean_ms_ssim": float(np.mean([r["ms_ssim"] for r in sel])),
            "median_encode_s": float(np.median([r["encode_s"] for r in sel])),
            "median_decode_s": float(np.median([r["decode_s"] for r in sel])),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    from codecbench.codecs.gan.checkpoint import shipped_names

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", help="checkpoint name or path (repeatable; default: all shipped)")
    p.add_argument("--limit", type=int, default=None, help="first N CamVid test images (default: all 233)")
    p.add_argument("--out", default="results/gan")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cks = args.checkpoint or shipped_names()
    rows = evaluate(cks, args.limit, out)
    with (out / "eval_camvid_test.csv").open("w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    summ = summarise(rows)
    lines = [
        f"# GAN codec on CamVid test ({summ[0]['images']} images, 480×360), JPEG 2000 at each image's GAN bpp",
        "",
        f"CPU, torch threads = {args.threads}; real bpp counts every byte of the stream over the original pixels.",
        "",
        "| checkpoint | codec | images | bound bpp | mean bpp | max bpp | PSNR dB | MS-SSIM "
        "| median enc s | median dec s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summ:
        lines.append(
            f"| {s['checkpoint']} | {s['codec']} | {s['images']} | {s['bound_bpp']:.4f} | {s['mean_bpp']:.4f} | "
            f"{s['max_bpp']:.4f} | {s['mean_psnr_db']:.2f} | {s['mean_ms_ssim']:.4f} | "
            f"{s['median_encode_s']:.3f} | {s['median_decode_s']:.3f} |".replace("nan", "–")
        )
    (out / "eval_camvid_test.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
