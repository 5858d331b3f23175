"""``codecbench segment-eval``: score a segmenter on a labelled dataset's uncompressed images.

Prints mIoU, pixel accuracy, class-average accuracy and per-class IoU (percent) over the whole dataset, from one
confusion matrix summed over all images; pixels labelled with the dataset's ignore index (CamVid void, 11) are
left out. A pixel the segmenter answers "void" (ESPNet's 12th output) counts as a miss for its true class.
Class accuracy is the mean, over the classes present in the truth, of per-class recall.
``--json`` prints one object instead: ``miou``, ``pixel_accuracy``, ``class_accuracy``, ``per_class_iou`` (a
mapping class name → percent, null where a class is neither in the truth nor predicted), ``per_class_accuracy``,
``images``, ``seconds``, ``images_per_second`` and what was run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment-eval", help="score a segmenter (default ESPNet) on a labelled dataset",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="camvid", help="labelled dataset: camvid (default) or cityscapes")
    p.add_argument("--split", default="test", help="dataset split (default: test)")
    p.add_argument("--root", help="dataset folder (default: the shared data folder for CamVid)")
    p.add_argument("--segmenter", default="espnet", help="segmenter name (default: espnet)")
    p.add_argument("--weights", help="weights file for the segmenter (default: its shared weights)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--batch-size", type=int, default=8, help="images per forward pass (default: 8)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present, default), cpu, cuda, cuda:1 …")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codecbench.datasets import load_dataset
    from codecbench.errors import BadInput
    from codecbench.metrics.segmenters import create

    if args.batch_size < 1:
        raise BadInput(f"--batch-size must be ≥ 1, got {args.batch_size}")
    dataset = load_dataset(args.dataset, root=args.root, split=args.split, limit=args.limit)
    if not dataset.labelled:
        raise BadInput(f"dataset {dataset.name!r} has no labels to score against")
    options = {"device": args.device, "batch_size": args.batch_size}
    if args.weights:
        options["weights"] = args.weights
    seg = create(args.segmenter, **options)
    if seg.num_classes != dataset.num_classes:
        raise BadInput(f"segmenter {seg.name!r} predicts {seg.num_classes} classes, dataset {dataset.name!r} has "
                       f"{dataset.num_classes}")
    cm, seconds = evaluate(seg, dataset, args.batch_size, progress=not args.no_progress)
    report = build_report(seg, dataset, args.split, cm, seconds)
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        print(format_table(report))
    return 0


def evaluate(seg, dataset, batch_size: int, progress: bool = False):
    """Run seg over every image of dataset, in batches of up to batch_size consecutive same-sized images.

    Returns (confusion, seconds): the (C+1)×(C+1) matrix of
    :func:`codecbench.metrics.segmenters.registry.confusion` summed over images, and the wall time of the whole
    loop (image and label loading included).
    """
    import numpy as np
    from tqdm import tqdm

    from codecbench.datasets import load_image, load_label
    from codecbench.metrics.segmenters.registry import confusion

    c = seg.num_classes
    total = np.zeros((c + 1, c + 1), dtype=np.int64)
    t0 = time.perf_counter()

    def flush(refs, images, bar):
        preds = seg.predict(np.stack(images))
        for ref, pred in zip(refs, preds):
            total[...] += confusion(pred, load_label(ref), c, seg.ignore_index)
        bar.update(len(refs))

    with tqdm(total=len(dataset.images), unit="img", disable=True if not progress else None, file=sys.stderr,
              desc=f"{seg.name} on {dataset.name}") as bar:
        refs: list = []
        images: list[np.ndarray] = []
        for ref in dataset.images:
            image = load_image(ref)
            if images and (len(images) == batch_size or image.shape != images[0].shape):
                flush(refs, images, bar)
                refs, images = [], []
            refs.append(ref)
            images.append(image)
        if images:
            flush(refs, images, bar)
    return total, time.perf_counter() - t0


def _pct(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def build_report(seg, dataset, split: str | None, cm, seconds: float) -> dict:
    """The JSON-serialisable result: scores in percent (NaN → null) plus what was run and how long it took."""
    import numpy as np

    from codecbench.metrics.segmenters.registry import scores

    s = scores(cm)
    c = seg.num_classes
    names = list(dataset.class_names or seg.class_names or [str(k) for k in range(c)])
    truth = cm[:c].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(truth > 0, np.diag(cm)[:c] / truth * 100.0, np.nan)
    n = len(dataset.images)
    describe = getattr(seg, "describe", None)
    return {
        "miou": _pct(s.miou),
        "pixel_accuracy": _pct(s.pixel_accuracy),
        "class_accuracy": _pct(s.class_accuracy),
        "per_class_iou": {name: _pct(v) for name, v in zip(names, s.per_class_iou)},
        "per_class_accuracy": {name: _pct(v) for name, v in zip(names, recall)},
        "classes_averaged": int(np.count_nonzero(truth)),
        "ignored_label": dataset.ignore_index,
        "void_predictions": int(cm[:c, c].sum()),
        "pixels_scored": int(cm[:c].sum()),
        "dataset": dataset.name,
        "split": split if dataset.name in ("camvid", "cityscapes") else None,
        "images": n,
        "seconds": round(seconds, 3),
        "images_per_second": round(n / seconds, 3) if seconds > 0 else None,
        "segmenter": describe() if callable(describe) else {"name": seg.name, "device": str(seg.device)},
    }


def format_table(r: dict) -> str:
    """The report as a readable text table."""

    def fmt(v):
        return "   n/a" if v is None else f"{v:6.2f}"

    seg = r["segmenter"]
    lines = [
        f"{seg.get('name')} on {r['dataset']}" + (f"/{r['split']}" if r["split"] else "")
        + f": {r['images']} images, label {r['ignored_label']} (void) ignored, device {seg.get('device')}, "
        f"{r['seconds']:.1f} s ({r['images_per_second'] or 0:.2f} images/s)",
        "",
        f"{'mIoU':<24}{fmt(r['miou'])} %",
        f"{'pixel accuracy':<24}{fmt(r['pixel_accuracy'])} %",
        f"{'class-average accuracy':<24}{fmt(r['class_accuracy'])} %  (mean over {r['classes_averaged']} classes)",
        "",
        f"{'class':<16}{'IoU %':>8}{'accuracy %':>12}",
    ]
    for name, iou in r["per_class_iou"].items():
        lines.append(f"{name:<16}{fmt(iou):>8}{fmt(r['per_class_accuracy'][name]):>12}")
    lines.append("")
    lines.append(f"{r['void_predictions']} of {r['pixels_scored']} scored pixels were predicted void "
                 f"(counted as misses)")
    return "\n".join(lines)
