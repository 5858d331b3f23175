"""Where the time goes (issue 12): the automotive CamVid suite on a fixed subset, previous vs current harness.

Runs codecbench/suites/automotive-camvid.toml (the classical codecs by default, --codecs; ESPNet mIoU) on a
fixed subset of the CamVid test split (--frames N: every k-th frame of test.txt, k = 233 // N, frames 0, k,
2k, ...) twice into temporary stores, in the same process one after the other:
- "previous": precision float64 (the reference SSIM / MS-SSIM path) and one job per target
  (run_suite(group_targets=False)): the implementation before issue 12;
- "current": precision float32 (codecbench.metrics.fastssim) and one job per (image, codec) sharing its
  rate-control probes and segmenting its decoded frames in one batch.
For each it prints the wall time, wall seconds per point, the seconds of each stage summed over the points
(rate control + encode, decode, fidelity metrics, segmentation), the harness overhead wall − Σ stages / workers,
and the ratios previous / current. --committed also sums the committed store's timers
(results/automotive-camvid/store.sqlite, measured on a quiet machine) over the same points.
The machine's load average is printed before and after: on a shared machine both runs see the same load only
roughly; the ratios are the figure to quote, the absolute seconds only with the load beside them.

Run:  python bench/where_time_goes.py [--frames 24] [--workers 2] [--skip-previous] [--committed]
Needs ../shared (CamVid and the ESPNet weights).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "codecbench" / "suites" / "automotive-camvid.toml"
CLASSICAL = "jpeg,jpeg2000,webp,heic,avif,jpegxl,bpg"
COMMITTED = ROOT / "results" / "automotive-camvid" / "store.sqlite"
STAGES = (("rate_s", "rate control + encode"), ("decode_s", "decode"), ("fidelity_s", "fidelity metrics"),
          ("segment_s", "segmentation (ESPNet)"))


def stage_sums(records: list[dict]) -> dict[str, float]:
    out = {k: sum(float(r.get(k) or 0.0) for r in records) for k, _ in STAGES}
    out["encodes"] = sum(int(r.get("encodes") or 0) for r in records)
    return out


def measure(suite, workers: int, group: bool, store_dir: Path) -> dict:
    from codecbench.run.runner import run_suite
    from codecbench.run.store import Store

    t0 = time.perf_counter()
    summary = run_suite(suite, store=store_dir, workers=workers, progress=False, log=lambda _: None,
                        group_targets=group)
    wall = time.perf_counter() - t0
    with Store(store_dir, read_only=True) as db:
        records = list(db.records())
    sums = stage_sums(records)
    stage_total = sum(sums[k] for k, _ in STAGES)
    return {"wall": wall, "points": len(records), "failed": summary.failed, "sums": sums,
            "stage_total": stage_total, "overhead": wall - stage_total / workers,
            "keys": [r["key"] for r in records], "records": records}


def per_codec(records: list[dict]) -> list[str]:
    """Markdown rows: seconds per point of each stage and encodes per point, per codec label (slowest first)."""
    by: dict[str, list[dict]] = {}
    for r in records:
        by.setdefault(str(r.get("label") or r.get("codec")), []).append(r)
    rows = []
    for lab, recs in by.items():
        s = stage_sums(recs)
        n = len(recs)
        rows.append((sum(s[k] for k, _ in STAGES) / n, lab, n, s))
    out = ["| codec | points | " + " | ".join(f"{label} (s/pt)" for _, label in STAGES) + " | encodes/pt |",
           "|---|--:|" + "--:|" * (len(STAGES) + 1)]
    for _, lab, n, s in sorted(rows, reverse=True):
        out.append(f"| {lab} | {n} | " + " | ".join(f"{s[k] / n:.3f}" for k, _ in STAGES)
                   + f" | {s['encodes'] / n:.2f} |")
    return out


def floor_lines(records: list[dict], workers: int) -> list[str]:
    """What the codecs and the segmenter cost by themselves: each codec's measured seconds per encode times the
    fewest encodes an exact search needs (``ratecontrol.fewest_encodes``), or times one per distinct stream (an
    oracle that never verifies), plus the measured decode and ESPNet seconds once per distinct stream of an (image,
    codec) (targets ending on the same stream need that work once); no metrics, no harness. Wall per point = Σ /
    workers / points."""
    from codecbench.codecs import registry
    from codecbench.codecs.ratecontrol import fewest_encodes

    by: dict[str, list[dict]] = {}
    for r in records:
        by.setdefault(str(r.get("codec")), []).append(r)
    rows, tot = [], {"bracket": 0.0, "oracle": 0.0, "fixed": 0.0, "metrics": 0.0}
    for name, recs in sorted(by.items()):
        s = stage_sums(recs)
        per_enc = s["rate_s"] / max(1, s["encodes"])
        groups: dict[str, list[dict]] = {}
        for r in recs:
            groups.setdefault(str(r.get("image_hash")), []).append(r)
        knob = registry.get(name).knob
        least = sum(fewest_encodes(knob, [(r.get("knob"), bool(r.get("reachable", True))) for r in g])
                    for g in groups.values())
        streams = sum(len({(r.get("knob"), r.get("bytes")) for r in g}) for g in groups.values())
        computed = [r for r in recs if not r.get("same_stream_as")] or recs
        c = stage_sums(computed)
        fixed = (c["decode_s"] + c["segment_s"]) / len(computed) * streams
        tot["bracket"] += least * per_enc + fixed
        tot["oracle"] += streams * per_enc + fixed
        tot["fixed"] += fixed
        tot["metrics"] += s["fidelity_s"]
        rows.append(f"| {recs[0].get('label') or name} | {1000 * per_enc:.1f} | {s['encodes'] / len(recs):.2f} | "
                    f"{least / len(recs):.2f} | {least * per_enc / len(recs):.3f} | {fixed / len(recs):.3f} |")
    n = max(1, len(records))
    return ["", "The floor the codecs and ESPNet set (no metrics, no harness overhead; measured seconds per "
            "encode, decode and ESPNet from this run):", "",
            "| codec | ms per encode | encodes/pt | fewest encodes/pt (exact bracket) | encode floor (s/pt) | "
            "decode + ESPNet per distinct stream (s/pt) |", "|---|--:|--:|--:|--:|--:|", *rows, "",
            f"Floor wall per point with {workers} workers: exact bracket {tot['bracket'] / workers / n:.3f} s; "
            f"oracle (one encode per distinct stream) {tot['oracle'] / workers / n:.3f} s; the oracle plus the "
            f"fidelity metrics {(tot['oracle'] + tot['metrics']) / workers / n:.3f} s; decode + ESPNet alone "
            f"{tot['fixed'] / workers / n:.3f} s."]


def committed(keys: list[str]) -> dict | None:
    if not COMMITTED.exists():
        return None
    from codecbench.run.store import Store

    want = set(keys)
    with Store(COMMITTED, read_only=True) as db:
        records = [r for r in db.records() if r["key"] in want]
    sums = stage_sums(records)
    return {"points": len(records), "sums": sums, "stage_total": sum(sums[k] for k, _ in STAGES)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-previous", action="store_true", help="run only the current implementation")
    ap.add_argument("--committed", action="store_true", help="also sum the committed store's timers")
    ap.add_argument("--codecs", default=CLASSICAL,
                    help=f"comma-separated codec names to keep (default: the classical codecs, {CLASSICAL}); 'all'")
    args = ap.parse_args(argv)

    from codecbench.run.suite import load_suite

    base = load_suite(SUITE)
    if args.codecs != "all":
        keep = set(args.codecs.split(","))
        base = dataclasses.replace(base, codecs=[c for c in base.codecs if c.name in keep])
    stride = max(1, 233 // args.frames)
    datasets = [dataclasses.replace(d, stride=stride, limit=stride * (args.frames - 1) + 1) for d in base.datasets]
    runs = {}
    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="where-time-goes-"))
    try:
        plan = [("current", "float32", True)]
        if not args.skip_previous:
            plan.insert(0, ("previous", "float64", False))
        for name, precision, group in plan:
            suite = dataclasses.replace(base, datasets=datasets, precision=precision)
            runs[name] = measure(suite, args.workers, group, tmp / name)
            print(f"{name}: {runs[name]['points']} points in {runs[name]['wall']:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()

    cur = runs["current"]
    cols = list(runs)
    ref = committed(cur["keys"]) if args.committed else None
    lines = [f"# Where the time goes: automotive-camvid on {args.frames} CamVid test frames (1 in {stride}), "
             f"{args.workers} workers", "",
             f"Load average (1 / 5 / 15 min) before {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f}, after "
             f"{load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f}; {os.cpu_count()} CPUs.", "",
             "| | " + " | ".join(cols) + (" | committed store (same points) |" if ref else " |")
             + (" previous / current |" if "previous" in runs else ""),
             "|---|" + "--:|" * (len(cols) + (1 if ref else 0) + (1 if "previous" in runs else 0))]

    def row(label, values, ratio=None):
        cells = " | ".join(values)
        return f"| {label} | {cells} |" + (f" {ratio} |" if ratio is not None else "")

    def ratio(a, b):
        return f"{a / b:.2f}×" if b else "–"

    prev = runs.get("previous")
    extra = [f"{ref['points']}"] if ref else []
    lines.append(row("points", [str(runs[c]["points"]) for c in cols] + extra, "" if prev else None))
    lines.append(row("wall (s)", [f"{runs[c]['wall']:.1f}" for c in cols] + (["–"] if ref else []),
                     ratio(prev["wall"], cur["wall"]) if prev else None))
    per_point = {c: runs[c]["wall"] / max(1, runs[c]["points"]) for c in cols}
    lines.append(row("wall per point (s)", [f"{per_point[c]:.3f}" for c in cols] + (["–"] if ref else []),
                     ratio(per_point["previous"], per_point["current"]) if prev else None))
    for key, label in STAGES:
        vals = [f"{runs[c]['sums'][key]:.1f}" for c in cols] + ([f"{ref['sums'][key]:.1f}"] if ref else [])
        lines.append(row(f"Σ {label} (s)", vals, ratio(prev["sums"][key], cur["sums"][key]) if prev else None))
    lines.append(row("Σ stages (s)", [f"{runs[c]['stage_total']:.1f}" for c in cols]
                     + ([f"{ref['stage_total']:.1f}"] if ref else []),
                     ratio(prev["stage_total"], cur["stage_total"]) if prev else None))
    lines.append(row("harness overhead wall − Σ stages / workers (s)",
                     [f"{runs[c]['overhead']:.1f} ({100 * runs[c]['overhead'] / runs[c]['wall']:.0f} %)"
                      for c in cols] + (["–"] if ref else []), "" if prev else None))
    lines.append(row("encodes per point", [f"{runs[c]['sums']['encodes'] / max(1, runs[c]['points']):.2f}"
                                           for c in cols]
                     + ([f"{ref['sums']['encodes'] / max(1, ref['points']):.2f}"] if ref else []),
                     "" if prev else None))
    lines += ["", "Stage shares (current): " + ", ".join(
        f"{label} {100 * cur['sums'][key] / cur['stage_total']:.0f} %" for key, label in STAGES) + "."]
    lines += ["", "Per codec (current):", ""] + per_codec(cur["records"])
    shared = sum(1 for r in cur["records"] if r.get("same_stream_as"))
    lines += ["", f"Points whose stream an earlier target of the same (image, codec) had produced, so that its decode, "
              f"metrics and ESPNet pass were reused (current): {shared} of {cur['points']}."]
    lines += floor_lines(cur["records"], args.workers)
    if any(runs[c]["failed"] for c in cols):
        lines.append("FAILED points: " + ", ".join(f"{c} {runs[c]['failed']}" for c in cols))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
