"""The sr wrapper against its inner codec on CamVid test (issue 16), through the suite machinery.

    python bench/sr_study.py                      # every 8th CamVid test frame (30), JPEG 2000 inner, with mIoU
    python bench/sr_study.py --inner webp --no-miou
    python bench/sr_study.py --dataset kodak --stride 1   # Kodak (fidelity only; JPEG added as a second anchor)
    python bench/sr_study.py --reports-only       # rewrite the outputs from the store

Codecs (labels): the inner codec direct, and ``sr`` around it at ×0.5 with bicubic, SRCNN and ResCNN upscaling,
and in adaptive mode (0.5 + ResCNN when the SR-only PSNR reaches the threshold, else 0.7 + Lanczos).
Targets 0.0625, 0.125, 0.25 bpp (rate control "below"); PSNR, PSNR-Y, SSIM, MS-SSIM and ESPNet mIoU (%).
Writes into results/sr/<dataset>-<inner>/: store.sqlite, the runner's standard outputs (table, bdrate vs the inner
codec, rd plots) and summary.md (the three targets side by side, BD-rates vs the inner codec), runs.jsonl.
Needs ../shared (CamVid, ESPNet weights).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = [0.0625, 0.125, 0.25]
INNER_LABELS = {"jpeg2000": "JPEG 2000", "webp": "WebP", "heic": "HEIC", "bpg": "BPG", "avif": "AVIF"}


def codec_entries(inner: str, threshold: float | None = None) -> list[dict]:
    name = INNER_LABELS.get(inner, inner)

    def sr(**kw):
        return {"name": "sr", "settings": {"inner": inner, **kw}}

    adaptive = {"adaptive": True, "adaptive_up": "rescnn"}
    if threshold is not None:
        adaptive["threshold_db"] = threshold
    return [
        {"name": inner, "label": name},
        {**sr(scale=0.5, up="bicubic"), "label": f"SR ×0.5 bicubic + {name}"},
        {**sr(scale=0.5, up="srcnn"), "label": f"SR ×0.5 SRCNN + {name}"},
        {**sr(scale=0.5, up="rescnn"), "label": f"SR ×0.5 ResCNN + {name}"},
        {**sr(**adaptive), "label": f"SR adaptive + {name}"},
    ]


def build_suite(inner: str, stride: int, miou: bool, out: Path, workers: int, threshold: float | None,
                dataset: str = "camvid"):
    from codecbench.run.suite import parse_suite

    codecs = codec_entries(inner, threshold)
    if dataset == "kodak" and inner != "jpeg":
        codecs.append({"name": "jpeg", "label": "JPEG"})  # the second anchor of the Kodak comparison
    doc = {
        "suite": {"name": f"sr-{dataset}-{inner}", "targets": TARGETS, "metrics": ["psnr", "psnr_y", "ssim", "ms_ssim"],
                  "mode": "below", "workers": workers, "device": "cpu", "output": str(out),
                  "anchor": INNER_LABELS.get(inner, inner), "timeout": 1800},
        "datasets": [{"name": "camvid", "split": "test", "stride": stride} if dataset == "camvid"
                     else {"name": dataset, "stride": stride}],
        "codecs": codecs,
    }
    if miou and dataset == "camvid":
        doc["segmenter"] = {"name": "espnet", "options": {"device": "cpu"}}
    return parse_suite(doc, None)


def summary_markdown(points, anchors: list[str], title: str) -> str:

    from codecbench.report import bdrate, reports
    from codecbench.studies.automotive import table_at

    def f(x, d):
        return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"

    lines = [f"# {title}", "", "Mean over frames at each target (rate control 'below'); mIoU = IoU of the summed "
             "confusion matrices (%). `≤t`: frames whose stream met the target.", ""]
    lines += ["| codec | target | frames | ≤t | bpp | PSNR (dB) | MS-SSIM | mIoU (%) |",
              "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for t in TARGETS:
        tab = table_at(points, t)
        for _, r in tab.iterrows():
            lines.append(f"| {r['codec']} | {t:g} | {r['frames']} | {r['at_target']} | {f(r['bpp'], 4)} | "
                         f"{f(r['psnr'], 2)} | {f(r['ms_ssim'], 4)} | {f(r['miou_dataset'], 2)} |")
    agg = reports.aggregate(points)
    metrics = [m for m in ("psnr", "ms_ssim", "miou_dataset") if m in agg.columns and agg[m].notna().any()]
    for anchor in anchors:
        # complete=False: a frame whose lowest rate exceeds a target (JPEG at 0.0625 bpp) enters at its real bpp
        res = bdrate.bd_table(agg, anchor, metrics=metrics, complete=False)
        lines += ["", f"BD-rate against {anchor} (negative = fewer bits at equal quality), over the three targets "
                  "(every point at its real mean bpp, including frames above the target at the codec's lowest rate):",
                  ""]
        lines.append(bdrate.bd_markdown(res))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inner", default="jpeg2000")
    ap.add_argument("--dataset", default="camvid", choices=["camvid", "kodak"],
                    help="camvid: the test split, with mIoU; kodak: 24 images, fidelity only, JPEG added as an anchor")
    ap.add_argument("--stride", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=None, help="adaptive threshold (dB; default: the codec's)")
    ap.add_argument("--no-miou", action="store_true", help="no ESPNet (fidelity metrics only)")
    ap.add_argument("--only", default=None, help="comma-separated labels to run now (the rest stays as stored)")
    ap.add_argument("--reports-only", action="store_true")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from codecbench.report.outputs import write_outputs
    from codecbench.report.reports import load_points
    from codecbench.run.runner import RunError, run_suite
    from codecbench.run.store import resolve_store

    out = ROOT / "results" / "sr" / f"{args.dataset}-{args.inner}"
    suite = build_suite(args.inner, args.stride, not args.no_miou, out, args.workers, args.threshold, args.dataset)
    if args.only:
        keep = set(args.only.split(","))
        suite.codecs = [c for c in suite.codecs if c.label in keep]
    store = resolve_store(out)
    if not args.reports_only:
        t0, started = time.perf_counter(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        load = os.getloadavg()
        try:
            summary = run_suite(suite, store=store, workers=args.workers, progress=False)
        except RunError as exc:
            print(f"sr_study: {exc}", file=sys.stderr)
            return 2
        for line in summary.lines():
            print(line)
        with open(out / "runs.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"started": started, "wall_s": round(time.perf_counter() - t0, 1),
                                 "codecs": [c.label for c in suite.codecs], "stride": args.stride,
                                 "computed": summary.computed, "failed": summary.failed, "workers": args.workers,
                                 "loadavg_start": load, "loadavg_end": os.getloadavg()}) + "\n")
    anchor = suite.anchor
    where = "CamVid test" if args.dataset == "camvid" else "Kodak"
    title = f"sr vs {anchor} direct, {where} 1 in {args.stride}"
    write_outputs(store, anchor=anchor, title=title)
    anchors = [anchor] + (["JPEG"] if args.dataset == "kodak" and args.inner != "jpeg" else [])
    (out / "summary.md").write_text(summary_markdown(load_points(store), anchors, title), encoding="utf-8")
    print(out / "summary.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
