"""ESPNet on the CPU: how much faster could the study's segmentation stage run (issue 12), measured in one run.

    python bench/espnet_speed.py [--frames 16] [--batch 4] [--reps 3] [--out results/speed/espnet_speed.md]

Compares three forms of the same network and weights on CamVid test frames (480×360, RGB uint8, one thread):
- eager: what the study runs (channels_last, subnormal weights flushed);
- conv+BN folded: torch.fx's fuse (each BatchNorm that directly follows a convolution folded into it);
- torch.compile: inductor (needs a C++ compiler); its compile time is reported apart.
Prints ms per frame (best of --reps, interleaved so that load changes hit all three alike), the ratio to eager,
the largest class-score difference from eager and how many pixels change label. Neither alternative is used by the
study: both move the scores by float rounding, so a few labels could change (the committed store keeps eager).
Needs ../shared (CamVid, ESPNet weights).
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "results" / "speed" / "espnet_speed.md"))
    args = ap.parse_args(argv)

    import torch
    from torch.fx.experimental.optimization import fuse

    from codecbench.datasets import load_dataset, load_image
    from codecbench.metrics.segmenters.espnet import ESPNetSegmenter

    torch.set_num_threads(1)
    seg = ESPNetSegmenter(device="cpu")
    refs = load_dataset("camvid", split="test").images[: args.frames]
    images = np.stack([load_image(r) for r in refs])
    batches = [images[i:i + args.batch] for i in range(0, len(images), args.batch)]
    eager = seg.net
    forms = {"eager (the study)": eager,
             "conv+BN folded (fx fuse)": fuse(copy.deepcopy(eager).eval()).to(memory_format=torch.channels_last)}
    t0 = time.perf_counter()
    compiled = torch.compile(copy.deepcopy(eager).eval(), dynamic=False)
    seg.net = compiled
    for b in {len(b): b for b in batches}.values():  # one compile per batch shape
        seg.scores(b)
    compile_s = time.perf_counter() - t0
    forms["torch.compile (inductor)"] = compiled

    def run(net):
        seg.net = net
        return [seg.scores(b) for b in batches]

    ref = run(eager)
    best = {k: float("inf") for k in forms}
    for _ in range(args.reps):
        for name, net in forms.items():
            t = time.perf_counter()
            run(net)
            best[name] = min(best[name], time.perf_counter() - t)
    load = os.getloadavg()[0]
    lines = [f"# ESPNet forms on the CPU ({len(images)} CamVid test frames, batch {args.batch}, one thread)\n",
             f"Best of {args.reps} interleaved repetitions; load average {load:.2f} at the end on "
             f"{os.cpu_count()} cores. torch.compile's compile time ({compile_s:.1f} s for "
             f"{len({len(b) for b in batches})} batch shape(s)) is not in its ms per frame.\n",
             "| form | ms per frame | × faster than eager | max abs score diff | pixels with another label |",
             "|---|--:|--:|--:|--:|"]
    for name, net in forms.items():
        out = run(net)
        diff = max(float((a - b).abs().max()) for a, b in zip(out, ref))
        flips = sum(int((a.argmax(1) != b.argmax(1)).sum()) for a, b in zip(out, ref))
        ms = 1000 * best[name] / len(images)
        lines.append(f"| {name} | {ms:.1f} | {best['eager (the study)'] / best[name]:.2f} | {diff:.2e} | "
                     f"{flips} of {images.shape[0] * images.shape[1] * images.shape[2]} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
