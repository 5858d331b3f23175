"""The GAN codec's budgeted recipe table (issue 14, item 2): configurations trained for the same wall-clock budget.

    python bench/gan_budget_table.py [--minutes 7] [--parallel 2] [--only NAME,...] [--report-only]

Each configuration trains F8 L4 from scratch with ``codecbench gan train`` on CamVid train (the MSE warm-up
phase only: at this budget the adversarial phase would start on an untrained decoder) for ``--minutes`` of wall
time (``--max-minutes``, one torch thread each; ``--parallel`` runs at once, so both cores are busy and every
configuration sees about the same load), then its EMA weights are exported (float16, as shipped) and evaluated
through the real bitstream on the run's 8 held-out validation frames: bpp, PSNR, MS-SSIM and ESPNet mIoU (the
function of bench/gan_learning_curve.py). Run folders: runs/budget/NAME (resumable; a finished one is reused).
Writes results/gan/budget_table.md and .csv. Needs ../shared (CamVid, the ESPNet weights).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "budget"
OUT = ROOT / "results" / "gan"
# name -> (description, extra ``gan train`` options); the reference is the shipped recipe's warm-up
CONFIGS = {
    "w0125_c256_b2": ("width 0.125, 256² crops, batch 2, lr 2e-4, no norm (shipped recipe)", []),
    "w025_c256_b2": ("width 0.25", ["--width", "0.25"]),
    "w0125_c128_b8": ("128² crops, batch 8 (same pixels per step)", ["--crop", "128", "--batch", "8"]),
    "w0125_c352_b1": ("352² crops (full frame height), batch 1", ["--crop", "352", "--batch", "1"]),
    "w0125_lr1e-3": ("learning rate 1e-3", ["--lr", "1e-3"]),
    "w0125_instnorm": ("instance normalisation", ["--norm", "instance"]),
}
BASE = {"--width": "0.125", "--crop": "256", "--batch": "2", "--lr": "2e-4", "--norm": "none"}


def _cmd(name: str, extra: list[str], minutes: float, export: int | None = None) -> list[str]:
    opts = dict(BASE)
    opts.update(dict(zip(extra[::2], extra[1::2])))
    cmd = [sys.executable, "-m", "codecbench.cli.main", "gan", "train", "--run", str(RUNS / name),
           "--source", "camvid", "--split", "train", "--F", "8", "--L", "4", "--quant-mode", "ste",
           "--seed", "0", "--threads", "1", "--device", "cpu", "--channels-last", "--val-count", "8",
           "--val-every", "1000000", "--ckpt-every", "100"]
    for k, v in opts.items():
        cmd += [k, v]
    if export is None:
        return cmd + ["--steps", "1000000", "--gan-start", "1000000", "--max-minutes", str(minutes)]
    return cmd + ["--steps", str(export), "--gan-start", "1000000", "--export", str(RUNS / name / "final")]


def _step(name: str) -> int:
    return int(json.loads((RUNS / name / "state.json").read_text())["step"])


def train(names: list[str], minutes: float, parallel: int) -> dict[str, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    info: dict[str, dict] = {}
    todo = [n for n in names if not (RUNS / n / "final.safetensors").exists()]
    for i in range(0, len(todo), parallel):
        batch = todo[i:i + parallel]
        load0 = os.getloadavg()[0]
        t0 = time.time()
        procs = {}
        for n in batch:
            (RUNS / n).mkdir(parents=True, exist_ok=True)
            log = open(RUNS / n / "train.log", "a")
            procs[n] = (subprocess.Popen(_cmd(n, CONFIGS[n][1], minutes), stdout=log, stderr=log, env=env), log)
        for n, (p, log) in procs.items():
            if p.wait(timeout=minutes * 60 + 900):
                raise RuntimeError(f"{n}: training failed, see {RUNS / n / 'train.log'}")
            log.close()
        for n in batch:
            subprocess.run(_cmd(n, CONFIGS[n][1], minutes, export=_step(n)), check=True, env=env,
                           capture_output=True, timeout=600)
            meta = {"wall_s": round(time.time() - t0, 1), "load_start": load0, "load_end": os.getloadavg()[0],
                    "parallel": len(batch)}
            (RUNS / n / "budget.json").write_text(json.dumps(meta) + "\n")
    for n in names:
        p = RUNS / n / "budget.json"
        info[n] = json.loads(p.read_text()) if p.exists() else {}
    return info


def evaluate(names: list[str]) -> list[dict]:
    import torch

    spec = importlib.util.spec_from_file_location("gan_learning_curve", ROOT / "bench" / "gan_learning_curve.py")
    lc = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(lc)
    from codecbench.metrics.segmenters import create

    torch.set_num_threads(1)
    seg = create("espnet", device="cpu")
    rows = []
    for n in names:
        ckpt = RUNS / n / "final.safetensors"
        cfg = json.loads(ckpt.with_suffix(".json").read_text())
        frames = lc._val_frames(cfg["training"])
        r = lc.evaluate_snapshot(ckpt, frames, seg)
        tr = cfg["training"]
        px = r["step"] * int(tr["batch"]) * int(tr["crop"]) ** 2
        rows.append({"name": n, "config": CONFIGS[n][0], "steps": r["step"], "gpx_seen": round(px / 1e9, 3),
                     "val_bpp": round(r["val_bpp"], 4), "val_psnr": round(r["val_psnr"], 3),
                     "val_ms_ssim": round(r["val_ms_ssim"], 4), "val_miou": round(r["val_miou"], 2),
                     "model_id": r["model_id"]})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=7.0)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--only", default=None)
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(CONFIGS)
    info = {n: {} for n in names} if args.report_only else train(names, args.minutes, args.parallel)
    if args.report_only:
        for n in names:
            p = RUNS / n / "budget.json"
            info[n] = json.loads(p.read_text()) if p.exists() else {}
    rows = evaluate(names)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "budget_table.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) + ["load_start", "load_end"])
        w.writeheader()
        for r in rows:
            meta = info[r["name"]]
            w.writerow({**r, "load_start": meta.get("load_start"), "load_end": meta.get("load_end")})
    best = max(rows, key=lambda r: (r["val_psnr"] + 0.1 * r["val_miou"]))
    lines = [f"# GAN F8 L4 at an equal wall-clock budget ({args.minutes:g} min each, MSE warm-up, from scratch)\n",
             "Two configurations at a time, one torch thread each, on the shared 2-core CPU. Validation: the 8 "
             "held-out CamVid train frames through the real bitstream (ESPNet mIoU against ground truth). Regenerate: "
             "`python bench/gan_budget_table.py`.\n",
             "| config | steps | Gpx seen | bpp | PSNR (dB) | MS-SSIM | mIoU % | load at start |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        ld = info[r["name"]].get("load_start")
        lines.append(f"| {r['config']} | {r['steps']} | {r['gpx_seen']} | {r['val_bpp']} | {r['val_psnr']} | "
                     f"{r['val_ms_ssim']} | {r['val_miou']} | {'' if ld is None else f'{ld:.1f}'} |")
    lines += ["", f"Best by PSNR + 0.1·mIoU: **{best['config']}**."]
    (OUT / "budget_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
