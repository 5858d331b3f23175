"""``codecbench gan``: train, export and inspect GAN codec checkpoints.

    codecbench gan train --source camvid --split train --run runs/gan_f8_l4 --F 8 --L 4 --steps 14000 \
        --export codecbench/codecs/gan/checkpoints/gan_f8_l4
    codecbench gan export runs/gan_f8_l4 OUT      # ship the EMA encoder+generator (float16) + JSON config
    codecbench gan info [CHECKPOINT]              # shipped checkpoints, or one checkpoint's config
"""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import fields


def register(subparsers) -> None:
    from codecbench.codecs.gan.config import TrainConfig  # torch-free: --help must not import torch

    p = subparsers.add_parser("gan", help="train / export / inspect GAN codec checkpoints")
    sub = p.add_subparsers(dest="gan_command", metavar="ACTION")
    d = TrainConfig()
    t = sub.add_parser("train", help="train (or resume) a GAN codec run")
    t.add_argument("--source", default=d.source, help="dataset name (camvid, kodak, ...) or a folder of images")
    t.add_argument("--split", default=d.split, help="dataset split (camvid: train|test)")
    t.add_argument("--run", required=True, help="run folder holding the resumable state (e.g. runs/NAME)")
    t.add_argument("--width", type=float, default=d.width, help="channel width multiplier (1.0 = paper)")
    t.add_argument("--F", type=int, default=d.F, help="bottleneck channels")
    t.add_argument("--L", type=int, default=d.L, help="quantizer centres")
    t.add_argument("--norm", choices=("instance", "none"), default=d.norm,
                   help="normalisation in E and G: instance (paper) or none (faster to train on the CPU)")
    t.add_argument("--quant-mode", choices=("ste", "none"), default=d.quant_mode,
                   help="ste: quantize in training (straight-through); none: quantize only at inference")
    t.add_argument("--steps", type=int, default=d.steps, help="total optimiser steps")
    t.add_argument("--gan-start", type=int, default=d.gan_start, help="steps of pure-MSE warm-up before GAN losses")
    t.add_argument("--gan-ramp", type=int, default=d.gan_ramp,
                   help="raise G's adversarial + feature-matching weight linearly from 0 to 1 over N steps after "
                        "--gan-start (default 0: at once, as in the paper and the shipped checkpoints)")
    t.add_argument("--crop", type=int, default=d.crop, help="random crop side in pixels (multiple of 16)")
    t.add_argument("--batch", type=int, default=d.batch)
    t.add_argument("--lr", type=float, default=d.lr,
                   help="Adam learning rate (GAN phase; warm-up too unless --warmup-lr)")
    t.add_argument("--warmup-lr", type=float, default=None, help="learning rate during the MSE warm-up")
    t.add_argument("--val-every", type=int, default=d.val_every)
    t.add_argument("--val-count", type=int, default=d.val_count, help="images held out from the end of the list")
    t.add_argument("--ckpt-every", type=int, default=d.ckpt_every)
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--device", default=d.device, help="auto|cpu|cuda")
    t.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    t.add_argument("--init-from", default=None,
                   help="warm start: a run folder or checkpoint (mismatched tensors skipped)")
    t.add_argument("--limit", type=int, default=None, help="use only the first N images")
    t.add_argument("--channels-last", action="store_true", help="NHWC activations (always on with CUDA)")
    t.add_argument("--compile", action="store_true", help="torch.compile the E+G and D forward passes")
    t.add_argument("--no-fuse-d", dest="fuse_d", action="store_false",
                   help="score real and fake crops in two D passes (default: one fused pass, exact)")
    t.add_argument("--snapshot-every", type=int, default=d.snapshot_every,
                   help="export the EMA weights to RUN/snapshots/ every N steps (learning curves)")
    t.add_argument("--seg-weight", type=float, default=d.seg_weight,
                   help="task-aware term (beyond the paper): weight of KL(ESPNet(x) || ESPNet(recon)); 0 = off")
    t.add_argument("--max-minutes", type=float, default=d.max_minutes,
                   help="stop after this many minutes of this call, state saved (resume by running it again)")
    t.add_argument("--seg-weights", default=None, help="ESPNet weights for --seg-weight (default: shared CamVid)")
    t.add_argument("--export", default=None, help="when done, ship the EMA weights to this path (.safetensors + .json)")
    t.set_defaults(func=_train)
    e = sub.add_parser("export", help="ship a run's EMA encoder+generator as a checkpoint")
    e.add_argument("run", help="run folder")
    e.add_argument("out", help="output path (NAME or NAME.safetensors; NAME.json is written beside it)")
    e.set_defaults(func=_export)
    i = sub.add_parser("info", help="list shipped checkpoints or show one checkpoint's config")
    i.add_argument("checkpoint", nargs="?")
    i.set_defaults(func=_info)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _train(args: argparse.Namespace) -> int:
    from codecbench.codecs.gan.train import TrainConfig, Trainer

    names = {f.name for f in fields(TrainConfig)}
    opts = {k: v for k, v in vars(args).items() if k in names and k != "command" and v is not None}
    parts = ["codecbench", "gan", "train", "--run", args.run]
    for k, v in opts.items():
        if isinstance(v, bool):  # store_true / store_false flags
            if v != getattr(TrainConfig, k):
                parts.append(f"--{k.replace('_', '-')}" if v else f"--no-{k.replace('_', '-')}")
            continue
        parts += [f"--{k.replace('_', '-')}", str(v)]
    if args.export:
        parts += ["--export", args.export]
    opts["command"] = " ".join(shlex.quote(a) for a in parts)
    trainer = Trainer(TrainConfig(**opts), args.run, log=lambda m: print(m, flush=True))
    last = trainer.run()
    print(json.dumps(last))
    if args.export and trainer.step >= trainer.cfg.steps:
        mid = trainer.export(args.export, {"validation": last})
        print(f"exported {args.export} (model id {mid})")
    elif args.export:  # stopped by --max-minutes: an export now would look like a finished run
        print(f"not exported: stopped at step {trainer.step} of {trainer.cfg.steps}; rerun the same command to resume")
    return 0


def _export(args: argparse.Namespace) -> int:
    import json as _json
    from pathlib import Path

    from codecbench.codecs.gan.train import TrainConfig, Trainer

    meta = _json.loads((Path(args.run) / "state.json").read_text())
    trainer = Trainer(TrainConfig(**meta["config"]), args.run, log=lambda m: print(m, flush=True))
    last = trainer.validate(save_samples=False)
    mid = trainer.export(args.out, {"validation": last})
    print(f"exported {args.out} at step {trainer.step} (model id {mid}): {last}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from codecbench.codecs.gan.checkpoint import read_config, resolve, shipped_names

    if not args.checkpoint:
        for name in shipped_names():
            cfg = read_config(resolve(name))
            print(f"{name}: F={cfg['F']} L={cfg['L']} width={cfg['width']} nominal {cfg.get('nominal_bpp'):.4f} bpp "
                  f"id {cfg.get('model_id')}")
        return 0
    print(json.dumps(read_config(resolve(args.checkpoint)), indent=2))
    return 0
