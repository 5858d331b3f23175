"""``codecbench segment finetune``: fine-tune a segmenter (ESPNet) on CamVid train frames decoded by a codec.

    codecbench segment finetune --codec jpeg2000 --target 0.0625 --out runs/ft-jpeg2000
    codecbench segment finetune --codec gan --settings checkpoint=gan_f8_l4 --mode mixed --out runs/ft-gan-mixed
    codecbench segment finetune --mode orig --out runs/ft-orig

The reconstructions are made through the codec registry and rate control and cached (``--cache``). The run
folder gets ``weights.safetensors`` and ``provenance.json``; a killed run resumes from its last epoch when run
again with the same arguments. Evaluate the result with
``[segmenter] options = { weights = ".../weights.safetensors" }`` or
``codecbench segment-eval --weights .../weights.safetensors``. See :mod:`codecbench.metrics.segmenters.finetune`
for the recipe.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment", help="segmenter tools: finetune (on decoded images)",
                       description="Segmenter tools. `segment-eval` scores a segmenter on uncompressed images.")
    inner = p.add_subparsers(dest="segment_command", metavar="SUBCOMMAND")
    f = inner.add_parser("finetune", help="fine-tune ESPNet on CamVid train frames decoded by a codec",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("--out", required=True, help="run folder (weights.safetensors, provenance.json, state)")
    f.add_argument("--segmenter", default="espnet", help="segmenter to fine-tune (only espnet so far)")
    f.add_argument("--mode", default="recon", choices=("recon", "mixed", "orig"),
                   help="recon: reconstructions only (default); mixed: originals ∪ reconstructions; orig: originals")
    f.add_argument("--codec", help="codec registry name (e.g. jpeg2000, gan); not needed with --mode orig")
    f.add_argument("--settings", action="append", default=[], metavar="KEY=VALUE",
                   help="fixed codec setting (repeatable), e.g. checkpoint=gan_f8_l4")
    f.add_argument("--target", type=float, help="target bpp (rate control 'below'); none for fixed-rate codecs")
    f.add_argument("--weights", help="starting weights (default: the published CamVid weights)")
    f.add_argument("--epochs", type=int, default=4, help="epochs over the training frames (default 4)")
    f.add_argument("--batch", type=int, default=8, help="crops per step (default 8)")
    f.add_argument("--crop", type=int, default=240, help="random square crop side, 0 = full frames (default 240)")
    f.add_argument("--lr", type=float, default=3e-5, help="Adam learning rate (default 3e-5)")
    f.add_argument("--weight-decay", type=float, default=0.0, help="Adam weight decay (default 0)")
    f.add_argument("--bn", default="train", choices=("frozen", "train"),
                   help="BatchNorm: batch statistics, running ones adapt (train, default), or keep them (frozen)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--val-every", type=int, default=10, help="hold out every K-th train frame (default 10)")
    f.add_argument("--limit", type=int, help="only the first N frames of CamVid train")
    f.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    f.add_argument("--cache", help="decoded-image cache folder (default $CODECBENCH_CACHE/decoded)")
    f.add_argument("--json", action="store_true", help="print the provenance JSON at the end")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    f.set_defaults(func=run_finetune)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def parse_settings(items: list[str]) -> dict:
    """KEY=VALUE strings → dict; values parse as JSON when they can (numbers, true/false), else stay strings."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--settings expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_finetune(args: argparse.Namespace) -> int:
    from codecbench.codecs.spec import CodecError
    from codecbench.datasets import DatasetError
    from codecbench.metrics.segmenters import SegmenterError
    from codecbench.metrics.segmenters.finetune import finetune
    from codecbench.metrics.segmenters.finetune_config import FinetuneConfig, FinetuneError

    def fail(message: str, code: int = 2) -> int:
        print(f"codecbench segment finetune: {message}", file=sys.stderr)
        return code

    if args.segmenter != "espnet":
        return fail(f"only espnet can be fine-tuned so far, got {args.segmenter!r}")
    try:
        cfg = FinetuneConfig(mode=args.mode, codec=args.codec if args.mode != "orig" else None,
                             settings=parse_settings(args.settings) if args.mode != "orig" else {},
                             target_bpp=args.target if args.mode != "orig" else None, base_weights=args.weights,
                             limit=args.limit, val_every=args.val_every, epochs=args.epochs, batch=args.batch,
                             crop=args.crop or None, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                             threads=args.threads, bn=args.bn)
        prov = finetune(cfg, args.out, cache_dir=args.cache, progress=not args.no_progress,
                        log=lambda s: print(s, file=sys.stderr))
    except (FinetuneError, SegmenterError, DatasetError, CodecError, KeyError, ValueError, FileNotFoundError) as exc:
        return fail(str(exc).strip("'\""))
    if args.json:
        print(json.dumps(prov, indent=1))
    else:
        last = prov["validation_curve"][-1]["val"]
        first = prov["validation_curve"][0]["val"]
        print(f"{args.out}: {prov['steps']} steps, {prov['s_per_epoch']:.1f} s per epoch, CPU {prov['cpu_s']:.0f} s")
        for k in last:
            print(f"  validation mIoU on {k}: {first[k]['miou']:.2f} % → {last[k]['miou']:.2f} %")
    return 0
