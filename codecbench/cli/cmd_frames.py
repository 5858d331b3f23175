"""``codecbench frames RESULTS``: one image decoded by each codec of a result store at a target bpp (PNG).

Each panel re-encodes the stored point (codec, settings, knob chosen by rate control) through the codec registry;
fixed-rate codecs (GAN checkpoints) show their single point. Captions: achieved bpp, PSNR (dB), per-image mIoU.
With --segmenter, the segmenter's prediction is drawn under each frame and the ground truth under the original.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("frames", help="the same image decoded by each codec at one target (PNG)",
                       description=__doc__)
    p.add_argument("results", help="store file or folder holding store.sqlite")
    p.add_argument("--image", help="image id (default: the first image of the store)")
    p.add_argument("--target", type=float, default=0.0625, help="target bpp (default 0.0625)")
    p.add_argument("--codec", action="append", dest="labels", metavar="LABEL",
                   help="codec label to show (repeatable; default every codec of the store)")
    p.add_argument("--segmenter", help="segmenter name (e.g. espnet) to draw predictions under each frame")
    p.add_argument("--device", default="cpu", help="segmenter device (default cpu)")
    p.add_argument("--columns", type=int, default=4, help="panels per row (default 4)")
    p.add_argument("-o", "--output", help="PNG path (default RESULTS_FOLDER/frames_<target>.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codecbench.errors import BadInput
    from codecbench.report.figures import frame_panels, write_frame_figure
    from codecbench.run.store import resolve_store

    if args.columns < 1:
        raise BadInput(f"--columns must be at least 1, got {args.columns}")
    panels = frame_panels(args.results, image_id=args.image, target=args.target, labels=args.labels)
    out = Path(args.output) if args.output else resolve_store(args.results).parent / f"frames_{args.target:g}.png"
    path = write_frame_figure(panels, out, segmenter=args.segmenter,
                              segmenter_options={"device": args.device} if args.segmenter else None,
                              columns=args.columns)
    print(path)
    return 0
