"""The automotive study on CamVid (issue 6), one command: run the suite, then write every output.

    python bench/automotive_camvid.py                # the full test split (233 frames, 8621 points; ~1 h on 2 cores)
    python bench/automotive_camvid.py --stride 3     # a nested subset: every 3rd test frame (78 frames)
    python bench/automotive_camvid.py --reports-only # rewrite the outputs from the store, computing nothing

Runs codecbench/suites/automotive-camvid.toml (its dataset entry is the full CamVid test split; ``--stride K`` keeps
every K-th frame, frames 0, K, 2K, ... of test.txt, so the subsets are nested) into
results/automotive-camvid/store.sqlite (resumable: a rerun computes only missing points; GAN checkpoints shipped
later are added by rerunning), then writes into results/automotive-camvid/:
- table.md/.csv/.tex, bdrate.md/.csv (anchor JPEG 2000), points.csv, rd.png/.svg, rd_logx.png/.svg
  (the runner's standard reports, as `codecbench table --anchor "JPEG 2000"` and `codecbench plot`);
- table_0.0625.md/.csv (the paper's Table II), rd_gan_curve*.png/.svg and bdrate_gan_curve.md/.csv (the GAN
  checkpoints joined into one curve), timing.md (wall time per run, seconds per stage);
- frames_0.0625.png: one frame decoded by each codec of the 0.0625 table, with ESPNet's prediction under each.
Each run appends its wall time and counts to runs.jsonl. Needs ../shared (or $CODECBENCH_SHARED).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "codecbench" / "suites" / "automotive-camvid.toml"
DEFAULT_STRIDE = 1
DEFAULT_FRAME = "0001TP_008550"  # first frame of test.txt, in every stride subset


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stride", type=int, default=DEFAULT_STRIDE,
                    help=f"keep every K-th test frame (default {DEFAULT_STRIDE}; 1 = all 233)")
    ap.add_argument("--workers", type=int, default=None, help="parallel jobs (default: the suite's, 2)")
    ap.add_argument("--out", default=None, help="output folder (default: the suite's, results/automotive-camvid)")
    ap.add_argument("--target", type=float, default=0.0625, help="bpp of the table and frame figure (0.0625)")
    ap.add_argument("--frame", default=DEFAULT_FRAME, help=f"frame id of the frame figure ({DEFAULT_FRAME})")
    ap.add_argument("--reports-only", action="store_true", help="compute nothing, rewrite the outputs")
    ap.add_argument("--only", action="append", default=[], metavar="LABEL",
                    help="compute only this codec entry (repeatable, e.g. --only 'GAN F8 L4' after retraining); the "
                         "outputs still cover every point of the store")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.stride < 1:
        ap.error("--stride must be at least 1")

    import pandas as pd

    from codecbench.report.figures import FigureError, frame_panels, write_frame_figure
    from codecbench.report.outputs import write_outputs
    from codecbench.run.runner import RunError, run_suite
    from codecbench.run.store import resolve_store
    from codecbench.run.suite import load_suite
    from codecbench.studies import automotive

    suite = load_suite(SUITE)
    suite.datasets = [dataclasses.replace(d, stride=args.stride) for d in suite.datasets]
    if args.only:
        unknown = sorted(set(args.only) - {c.label for c in suite.codecs})
        if unknown:
            print(f"automotive_camvid: --only: no codec entry labelled {unknown} in {SUITE}", file=sys.stderr)
            return 2
        suite.codecs = [c for c in suite.codecs if c.label in args.only]
    out = Path(args.out) if args.out else ROOT / suite.output
    store = resolve_store(out)
    anchor = suite.anchor or "JPEG 2000"

    if not args.reports_only:
        started, t0 = _now(), time.perf_counter()
        load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        try:
            summary = run_suite(suite, store=store, workers=args.workers, progress=not args.no_progress)
        except RunError as exc:
            print(f"automotive_camvid: {exc}", file=sys.stderr)
            return 2
        for line in summary.lines():
            print(line)
        frames = len(_refs(suite))
        log = {"started": started, "finished": _now(), "wall_s": time.perf_counter() - t0,
               "workers": summary.workers, "stride": args.stride, "frames": frames, "planned": summary.planned,
               "already": summary.already, "computed": summary.computed, "ok": summary.ok,
               "unreachable": summary.unreachable, "failed": summary.failed, "work_s": summary.work_s,
               "skipped": [f"{s.label}: {s.reason}" for s in summary.skipped],
               "loadavg_at_start": load_at_start}
        if summary.computed:
            with open(out / "runs.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(log) + "\n")

    n_frames = len(_refs(suite))
    title = f"CamVid test, {n_frames} frames" + (f" (1 in {args.stride})" if args.stride > 1 else "")
    written = write_outputs(store, anchor=anchor, title=f"automotive-camvid: {title}",
                            paired_target=repr(float(args.target)))
    ceiling = automotive.uncompressed_miou(_refs(suite), "espnet", device="cpu")
    written += automotive.write_study(store, anchor=anchor, target=args.target, title=f"{title}, ESPNet mIoU",
                                      uncompressed=ceiling)
    try:
        table = pd.read_csv(out / f"table_{args.target:g}.csv")  # the codecs of the table, in its order
        panels = frame_panels(store, image_id=args.frame, target=args.target, labels=list(table["codec"]))
        written.append(write_frame_figure(
            panels, out / f"frames_{args.target:g}.png", segmenter="espnet", segmenter_options={"device": "cpu"},
            title=f"CamVid {args.frame} at ~{args.target:g} bpp (rate control 'below'; GAN: fixed rate) "
                  "— ESPNet prediction under each frame"))
    except FigureError as exc:
        print(f"automotive_camvid: no frame figure: {exc}", file=sys.stderr)
    for p in written:
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
    return 1 if not args.reports_only and summary.failed else 0


def _refs(suite) -> list:
    """The ImageRefs the suite runs on (its datasets after limit and stride)."""
    from codecbench.datasets import load_dataset

    refs = []
    for d in suite.datasets:
        refs += load_dataset(d.name, root=d.root, split=d.split, limit=d.limit).images[:: d.stride or 1]
    return refs


if __name__ == "__main__":
    sys.exit(main())
