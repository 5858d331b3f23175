"""Training throughput of the GAN codec on this CPU: steps/s and Mpx/s per variant, as ratios measured in one run.

    python bench/gan_train_throughput.py [--threads 2] [--crop 256] [--batch 2] [--rounds 5] [--steps 6] [--compile]

Variants (each a Trainer on the same CamVid train frames, GAN phase: E+G step plus the discriminator step):
- ``legacy``: the implementation before this change: per-sample numpy crops with float copies, two D passes
  (real, fake) in the D step, a per-tensor Python EMA loop;
- ``+bank``: images decoded once into one uint8 tensor, one float conversion per batch;
- ``+fuse_d``: real and fake crops scored in one D pass (exact: D normalises each sample on its own);
- ``+ema``: one fused ``_foreach_lerp_`` EMA update;
- ``+channels_last``: NHWC activations;
- ``+compile`` (with ``--compile``): torch.compile of the E+G and D forward passes.
Rounds interleave the variants, so a background load affects all alike; the medians and their ratios to
``legacy`` are printed. Report the machine load (``uptime``) with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from codecbench.codecs.gan.batches import crop_batch_reference  # noqa: E402
from codecbench.codecs.gan.train import TrainConfig, Trainer  # noqa: E402


class LegacyTrainer(Trainer):
    """The pre-change step: numpy crops, and the per-tensor EMA loop."""

    legacy_crops = True
    legacy_ema = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        if self.legacy_crops:
            self.bank.crops = lambda gen, crop, batch, cl=False: crop_batch_reference(  # type: ignore[method-assign]
                self.train_images, gen, crop, batch)

    def _update_ema(self, decay: float) -> None:
        if not self.legacy_ema:
            return super()._update_ema(decay)
        with torch.no_grad():
            for pe, pm in zip(self.ema.state_dict().values(), self.model.state_dict().values()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay) if pe.is_floating_point() else pe.copy_(pm)


def make(kind: str, base: dict, tmp: str) -> Trainer:
    opts = dict(base)
    cls: type[Trainer] = Trainer
    if kind == "legacy":
        cls = type("L0", (LegacyTrainer,), {})
        opts["fuse_d"] = False
    elif kind == "+bank":
        cls = type("L1", (LegacyTrainer,), {"legacy_crops": False})
        opts["fuse_d"] = False
    elif kind == "+fuse_d":
        cls = type("L2", (LegacyTrainer,), {"legacy_crops": False})
    elif kind == "+channels_last":
        opts["channels_last"] = True
    elif kind == "+compile":
        opts["channels_last"] = True
        opts["compile"] = True
    return cls(TrainConfig(**opts), os.path.join(tmp, kind.strip("+")), log=lambda m: None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per variant per round")
    ap.add_argument("--limit", type=int, default=48, help="CamVid train frames to load")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    base = dict(source="camvid", split="train", width=args.width, F=8, L=4, norm="none", steps=10**9,
                gan_start=0, crop=args.crop, batch=args.batch, val_count=0, threads=args.threads,
                limit=args.limit, device="cpu")
    kinds = ["legacy", "+bank", "+fuse_d", "+ema", "+channels_last"] + (["+compile"] if args.compile else [])
    times: dict[str, list[float]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="codecbench-ganbench-") as tmp:
        trainers = {k: make(k, base, tmp) for k in kinds}
        for tr in trainers.values():  # warm-up (and compilation)
            for _ in range(2):
                tr.train_step()
        for _ in range(args.rounds):
            for k, tr in trainers.items():
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    tr.train_step()
                times[k].append((time.perf_counter() - t0) / args.steps)
    px = args.crop * args.crop * args.batch
    ref = statistics.median(times["legacy"])
    rows = []
    print(f"GAN-phase training step, width {args.width}, crop {args.crop}, batch {args.batch}, "
          f"{args.threads} threads, {args.rounds}×{args.steps} steps; load {os.getloadavg()[0]:.2f}")
    print(f"{'variant':<16} {'s/step':>8} {'steps/s':>8} {'Mpx/s':>7} {'× legacy':>9}")
    for k in kinds:
        m = statistics.median(times[k])
        rows.append({"variant": k, "s_per_step": m, "steps_per_s": 1 / m, "mpx_per_s": px / m / 1e6,
                     "speedup_vs_legacy": ref / m})
        print(f"{k:<16} {m:8.3f} {1 / m:8.2f} {px / m / 1e6:7.3f} {ref / m:9.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "loadavg": os.getloadavg(), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
