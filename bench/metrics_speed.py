"""Fidelity metrics, before and after (issue 12): speed per pair and the largest deviation from the references.

Speed: PSNR + PSNR-Y + SSIM + MS-SSIM of one pair (the distorted image a JPEG at quality 10), one thread
(torch and OpenCV), at 480×360 (a CamVid frame) and 768×512 (a Kodak image), precision "float64" (the previous
implementation, kept as the reference) against "float32" (codecbench.metrics.fastssim), measured in the same
run: the median of --rounds calls, as CPU seconds of this process (robust on a loaded machine) and wall seconds.

Accuracy: the largest |float32 − reference| of SSIM and MS-SSIM over every Kodak image, every CamVid test frame
(--camvid-stride to thin) and the scikit-image photos, each against a JPEG at quality 8 (and, for the
scikit-image photos, JPEG 40 and Gaussian noise), where the references are the float64 path, scikit-image's
SSIM and the numpy MS-SSIM of tests/msssim_reference.py; and the largest PSNR / PSNR-Y change.

Run:  nice python bench/metrics_speed.py [--rounds 15] [--camvid-stride 1] [--no-accuracy]
Needs ../shared (or $CODECBENCH_SHARED) for Kodak and CamVid. Prints a markdown report.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def timed(fn, rounds: int) -> tuple[float, float]:
    """Median (CPU ms, wall ms) of rounds calls after one warm-up."""
    fn()
    cpu, wall = [], []
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return 1e3 * statistics.median(cpu), 1e3 * statistics.median(wall)


def speed(rounds: int) -> list[str]:
    from codecbench.imageio import load_rgb
    from codecbench.metrics.fidelity import fidelity
    from codecbench.paths import require_shared

    pairs = {
        "480×360 (CamVid 0001TP_008550)": load_rgb(require_shared("data", "camvid", "test", "0001TP_008550.png")),
        "768×512 (Kodak kodim20)": load_rgb(require_shared("data", "kodak", "kodim20.png")),
    }
    lines = ["| pair | float64 CPU ms | float32 CPU ms | speed-up (CPU) | float64 wall ms | float32 wall ms "
             "| speed-up (wall) |", "|---|--:|--:|--:|--:|--:|--:|"]
    for name, ref in pairs.items():
        dist = jpeg(ref, 10)
        slow = timed(lambda: fidelity(ref, dist, precision="float64"), max(3, rounds // 3))
        fast = timed(lambda: fidelity(ref, dist), rounds)
        lines.append(f"| {name} | {slow[0]:.1f} | {fast[0]:.1f} | {slow[0] / fast[0]:.1f}× | {slow[1]:.1f} "
                     f"| {fast[1]:.1f} | {slow[1] / fast[1]:.1f}× |")
    return lines


def accuracy(camvid_stride: int) -> list[str]:
    from skimage import data
    from skimage.metrics import structural_similarity

    from codecbench.imageio import load_rgb
    from codecbench.metrics.fidelity import fidelity
    from codecbench.paths import require_shared

    sys.path.insert(0, str(ROOT / "tests"))
    from msssim_reference import ms_ssim_reference

    def noisy(im):
        rng = np.random.default_rng(0)
        return np.clip(np.round(im + rng.normal(0, 12, im.shape)), 0, 255).astype(np.uint8)

    sets: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {"Kodak": [], "CamVid test": [], "scikit-image": []}
    for p in sorted(require_shared("data", "kodak").glob("kodim*.png")):
        im = load_rgb(p)
        sets["Kodak"].append((p.stem, im, jpeg(im, 8)))
    for p in sorted(require_shared("data", "camvid", "test").glob("*.png"))[::camvid_stride]:
        im = load_rgb(p)
        sets["CamVid test"].append((p.stem, im, jpeg(im, 8)))
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        im = getattr(data, name)()
        if im.ndim == 3 and im.shape[2] == 3:
            for tag, dist in (("q8", jpeg(im, 8)), ("q40", jpeg(im, 40)), ("noise12", noisy(im))):
                sets["scikit-image"].append((f"{name} {tag}", im, dist))

    lines = ["| images | pairs | max Δ SSIM vs float64 | max Δ MS-SSIM vs float64 | max Δ SSIM vs scikit-image "
             "| max Δ MS-SSIM vs numpy reference | max Δ PSNR, PSNR-Y (dB) | worst pair |",
             "|---|--:|--:|--:|--:|--:|--:|---|"]
    overall = 0.0
    for set_name, pairs in sets.items():
        worst = (0.0, "")
        d = {k: 0.0 for k in ("s64", "m64", "ssk", "mref", "psnr")}
        for name, ref, dist in pairs:
            fast = fidelity(ref, dist)
            slow = fidelity(ref, dist, precision="float64")
            sk = structural_similarity(ref, dist, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=255, channel_axis=2)
            mref = ms_ssim_reference(ref, dist)
            devs = {"s64": abs(fast["ssim"] - slow["ssim"]), "m64": abs(fast["ms_ssim"] - slow["ms_ssim"]),
                    "ssk": abs(fast["ssim"] - sk), "mref": abs(fast["ms_ssim"] - mref),
                    "psnr": max(abs(fast["psnr"] - slow["psnr"]), abs(fast["psnr_y"] - slow["psnr_y"]))}
            for k, v in devs.items():
                d[k] = max(d[k], v)
            top = max(devs["s64"], devs["m64"], devs["ssk"], devs["mref"])
            if top >= worst[0]:
                worst = (top, name)
        overall = max(overall, d["s64"], d["m64"], d["ssk"], d["mref"])
        lines.append(f"| {set_name} | {len(pairs)} | {d['s64']:.1e} | {d['m64']:.1e} | {d['ssk']:.1e} "
                     f"| {d['mref']:.1e} | {d['psnr']:.1e} | {worst[1]} |")
    lines += ["", f"Largest deviation of the float32 SSIM / MS-SSIM from any reference: {overall:.2e} "
                  f"({'within' if overall <= 1e-5 else 'OUTSIDE'} the 1e-5 bound)."]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--camvid-stride", type=int, default=1, help="every K-th CamVid test frame (default all 233)")
    ap.add_argument("--no-accuracy", action="store_true")
    args = ap.parse_args(argv)

    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    load = os.getloadavg()
    out = ["# Fidelity metrics: float64 (previous) vs float32 (fastssim), one thread", "",
           f"Machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start "
           f"(1 / 5 / 15 min). PSNR + PSNR-Y + SSIM + MS-SSIM per pair, median of {args.rounds} calls.", ""]
    out += speed(args.rounds)
    print("\n".join(out), flush=True)
    out = []
    if not args.no_accuracy:
        out += ["", "## Accuracy", ""] + accuracy(args.camvid_stride)
    load = os.getloadavg()
    out += ["", f"Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
