"""The GAN codec's F/L sweep and quantization ablation on equal terms (issue 14, item 4).

    python bench/gan_sweep.py [--steps 4000] [--gan-start 2500] [--parallel 2] [--only NAME,...] [--report-only]
                              [--no-ship] [--test-stride 1] [--runs DIR] [--snapshot-every N] [--select best-miou]
                              [--deadline-minutes M]
    python bench/gan_sweep.py --budget main ...   # the main model's budget: 15000 steps, MSE to 6000, snapshots
                                                  # every 500, the best by validation mIoU (runs/sweep_main)

Every configuration trains from scratch with the same recipe and the same number of optimiser steps: CamVid train
(the last 8 frames held out), width 0.125, no normalisation, 256-px crops, batch 2, Adam 2e-4 (β1 0.5),
channels_last, seed 0; pure-MSE warm-up for ``--gan-start`` steps, then LSGAN over three discriminator scales +
feature matching ×10 + MSE ×10 with the discriminator trained. Only F, L and the quantization mode differ, so the
F/L curve and the with/without-quantization pair are comparable with each other. (The shipped ``gan_f8_l4`` is the
long run on top of this recipe; its equal-budget twin here is ``gan_f8_l4_eq``.)

Runs are resumable (runs/sweep/NAME or ``--runs``; a finished one is reused), ``--parallel`` at once, one torch
thread each; ``--deadline-minutes`` gives every run that many minutes from the sweep's start (``--max-minutes``), starts
nothing with under 5 left, and the same command later resumes what was cut short;
equal steps rather than equal minutes, so the machine's load changes the wall time but not the comparison.
Each finished run's EMA weights are exported (float16) and, unless ``--no-ship``, copied over the shipped
checkpoint of the same name in codecbench/codecs/gan/checkpoints/ (replacing the older, warm-started file).
Writes results/gan/sweep_table.md/.csv: validation bpp, PSNR, MS-SSIM and ESPNet mIoU through the real bitstream on
the 8 held-out frames. The test-split figures of the shipped ones come from the study (bench/automotive_camvid.py).
The quantization ablation at the seed paper's F/L pairs (``*_noquant`` against its quantized twin) is evaluated on
the CamVid test split here and written to results/gan/ablation_table.md/.csv; the four no-quant runs other than
F8 L4 are not shipped (the 60 MiB checkpoint cap). Needs ../shared.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "sweep"
# --budget main: the shipped gan_f8_l4's schedule (its long run: 15000 steps, MSE warm-up to 6000, the best of the
# snapshots by validation mIoU). gan_f8_l4 had a 128-px warm start on top (its JSON), so its from-scratch twin
# gan_f8_l4_eq is the F8 L4 point of the joined curve and the quantized half of the F8 L4 ablation pair.
MAIN_BUDGET = {"steps": 15000, "gan_start": 6000, "snapshot_every": 500, "select": "best-miou",
               "runs": ROOT / "runs" / "sweep_main"}
# (the shipped ones first, so that no shipped file keeps the 4000-step budget; the four never-shipped no-quant runs
# of the ablation last)
OUT = ROOT / "results" / "gan"
SHIPPED = ROOT / "codecbench" / "codecs" / "gan" / "checkpoints"
SELECT, TAG = "final", ""  # set by --select / --budget


def _sibling(name: str):
    """Load bench/NAME.py (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_configs = _sibling("gan_sweep_configs")
CONFIGS, MAIN_ORDER, UNSHIPPED = _configs.CONFIGS, _configs.MAIN_ORDER, _configs.UNSHIPPED
ABLATION_PAIRS = _configs.ABLATION_PAIRS
LOGS = _sibling("gan_run_logs")


def _cmd(name: str, steps: int, gan_start: int, snapshot_every: int = 0, max_minutes: float = 0.0) -> list[str]:
    c = CONFIGS[name]
    extra = ["--snapshot-every", str(snapshot_every)] if snapshot_every else []
    extra += ["--max-minutes", f"{max_minutes:.1f}"] if max_minutes else []
    extra += ["--gan-ramp", str(c.ramp)] if c.ramp else []
    return [sys.executable, "-m", "codecbench.cli.main", "gan", "train", "--run", str(RUNS / name),
            "--source", "camvid", "--split", "train", "--width", "0.125", "--F", str(c.F), "--L", str(c.L),
            "--norm", "none", "--quant-mode", c.quant, "--steps", str(steps), "--gan-start", str(gan_start),
            "--crop", "256", "--batch", "2", "--lr", "2e-4", "--val-every", "1000", "--val-count", "8",
            "--ckpt-every", "250", "--seed", str(c.seed), "--device", "cpu", "--threads", "1", "--channels-last",
            "--export", str(RUNS / name / "final"), *extra]


def train(names: list[str], steps: int, gan_start: int, parallel: int, snapshot_every: int = 0,
          deadline_minutes: float = 0.0) -> None:
    """Train the unfinished runs, ``parallel`` at a time; a failure names its log and stops the sweep."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    todo = [n for n in names if not _done(n)]
    running: dict[str, tuple[subprocess.Popen, object, float, float]] = {}
    end = time.time() + 60 * deadline_minutes if deadline_minutes else None
    while todo or running:
        while todo and len(running) < parallel and (end is None or end - time.time() > 300):
            n = todo.pop(0)
            (RUNS / n).mkdir(parents=True, exist_ok=True)
            log = open(RUNS / n / "train.log", "a")
            left = (end - time.time()) / 60 if end else 0.0
            p = subprocess.Popen(_cmd(n, steps, gan_start, snapshot_every, left), stdout=log, stderr=log, env=env,
                                 cwd=ROOT)
            running[n] = (p, log, time.time(), os.getloadavg()[0])
        time.sleep(5)
        for n in [k for k, v in running.items() if v[0].poll() is None and _is_dead(n, gan_start)]:
            p, log, *_ = running.pop(n)
            p.terminate()
            p.wait()
            log.close()
            print(f"{n}: stopped as dead: {LOGS.mark_dead(RUNS / n, gan_start, CONFIGS[n].label)}", flush=True)
        for n in [k for k, v in running.items() if v[0].poll() is not None]:
            p, log, t0, load0 = running.pop(n)
            log.close()
            if p.returncode:
                raise RuntimeError(f"{n}: training failed (exit {p.returncode}), see {RUNS / n / 'train.log'}")
            if not (RUNS / n / "final.safetensors").exists():
                print(f"{n}: stopped by the deadline, resumable: rerun the same command", flush=True)
                continue
            meta = {"wall_s": round(time.time() - t0, 1), "load_start": load0, "load_end": os.getloadavg()[0]}
            (RUNS / n / "sweep.json").write_text(json.dumps(meta) + "\n")
        if end is not None and not running and end - time.time() <= 300:
            break


def _done(name: str) -> bool:
    """Finished (final weights exported) or stopped as dead (gan_run_logs): either way its snapshots are final."""
    return (RUNS / name / "final.safetensors").exists() or (RUNS / name / LOGS.STOPPED).exists()


def _is_dead(name: str, gan_start: int) -> bool:
    log = RUNS / name / "log.jsonl"
    return log.exists() and LOGS.dead(LOGS.read_log(log), gan_start)


def select_best(names: list[str]) -> None:
    """For each finished run, copy the snapshot with the best validation mIoU (the shipped gan_f8_l4's selection
    rule; ties go to the earlier step) to RUN/selected.safetensors/json; the per-snapshot figures go to
    RUN/snapshots.csv (``gan_learning_curve.snapshot_rows``, reused by model id)."""
    import torch

    lc = _learning_curve_module()
    torch.set_num_threads(1)
    for n in names:
        run = RUNS / n
        if not _done(n):
            continue
        rows = lc.snapshot_rows(run, run / "snapshots.csv")
        if not rows:
            raise RuntimeError(f"{n}: no snapshots in {run / 'snapshots'} to select from (train with --snapshot-every)")
        best = max(rows, key=lambda r: (float(r["val_miou"]), -int(r["step"])))
        snap = f"step_{int(best['step']):06d}"
        for ext in (".safetensors", ".json"):
            shutil.copyfile(run / "snapshots" / f"{snap}{ext}", run / f"selected{ext}")
        print(f"{n}: selected {snap} (val mIoU {float(best['val_miou']):.2f} %) of {len(rows)}", flush=True)


def _ckpt(name: str) -> Path | None:
    """The checkpoint a finished run contributes: ``selected`` (best snapshot) under --select best-miou, else
    ``final``; None while unfinished. Under --budget main the F8 L4 twin, if not trained, is the shipped gan_f8_l4."""
    if name == "gan_f8_l4_eq" and SELECT == "best-miou" and not _done(name):
        return SHIPPED / "gan_f8_l4.safetensors"
    if not _done(name):
        return None
    if SELECT == "best-miou":  # None until select_best has chosen
        sel = RUNS / name / "selected.safetensors"
        return sel if sel.exists() else None
    return RUNS / name / "final.safetensors" if (RUNS / name / "final.safetensors").exists() else None


def collapse_notes(names: list[str], gan_start: int) -> list[str]:
    """One line per run (finished or not) that collapsed: its onset and phase, its first validation below
    gan_run_logs.COLLAPSE_DB dB, and how far it got."""
    notes = [LOGS.collapse_note(n, CONFIGS[n].label, RUNS / n, gan_start) for n in names]
    return [n for n in notes if n]


def _is_shipped(ckpt: Path) -> bool:
    """Whether these weights are the package's: the same model id as some shipped checkpoint."""
    mid = json.loads(ckpt.with_suffix(".json").read_text())["model_id"]
    return any(json.loads(p.read_text()).get("model_id") == mid for p in SHIPPED.glob("gan_*.json"))


def ship(names: list[str]) -> None:
    """Copy each finished run's exported EMA weights over the shipped checkpoint of the same name; a run that
    collapsed is not shipped (its name is printed): its best snapshot is not the configuration's trained result."""
    for n in names:
        src = _ckpt(n)
        if src is not None and src.parent == RUNS / n and n not in UNSHIPPED:
            cfg = json.loads(src.with_suffix(".json").read_text())
            if collapse_notes([n], cfg["training"]["gan_start"]):
                print(f"{n}: collapsed in training, not shipped (see the ablation table's notes)", flush=True)
                continue
            rule = ("the best of its snapshots by validation mIoU, as for gan_f8_l4" if SELECT == "best-miou"
                    else "its final EMA weights")
            cfg["history"] = (f"trained from scratch by bench/gan_sweep.py (equal terms with the other sweep "
                              f"checkpoints: {cfg['training']['steps']} steps, MSE warm-up to "
                              f"{cfg['training']['gan_start']}, same recipe); shipped: {rule}, step "
                              f"{cfg['trained_steps']}; see results/gan/TRAINING.md")
            shutil.copyfile(src, SHIPPED / f"{n}.safetensors")
            (SHIPPED / f"{n}.json").write_text(json.dumps(cfg, indent=2) + "\n")


def _learning_curve_module():
    return _sibling("gan_learning_curve")


def _tables():
    return _sibling("gan_sweep_tables")


def evaluate(names: list[str]) -> list[dict]:
    import torch

    from codecbench.metrics.segmenters import create

    lc = _learning_curve_module()
    torch.set_num_threads(1)
    seg = create("espnet", device="cpu")
    rows = []
    for n in names:
        ckpt = _ckpt(n)
        if ckpt is None:
            continue
        cfg = json.loads(ckpt.with_suffix(".json").read_text())
        r = lc.evaluate_snapshot(ckpt, lc._val_frames(cfg["training"]), seg)
        meta_p = RUNS / n / "sweep.json"
        meta = json.loads(meta_p.read_text()) if meta_p.exists() else {}
        label = CONFIGS[n].label if ckpt.parent != SHIPPED else "F8 L4: the shipped gan_f8_l4 (long run, warm-started)"
        rows.append({"name": n, "config": label, "F": cfg["F"], "L": cfg["L"],
                     "quant_mode": cfg["quant_mode"], "nominal_bpp": cfg["nominal_bpp"], "steps": r["step"],
                     "train_wall_s": cfg.get("wall_s"), "val_bpp": round(r["val_bpp"], 4),
                     "val_psnr": round(r["val_psnr"], 3), "val_ms_ssim": round(r["val_ms_ssim"], 4),
                     "val_miou": round(r["val_miou"], 2), "model_id": r["model_id"],
                     "load_start": meta.get("load_start")})
    return rows


def _test_frames(stride: int):
    from codecbench.datasets import load_dataset, load_image, load_label

    ds = load_dataset("camvid", split="test")
    return [(r.id, load_image(r), load_label(r)) for r in ds.images[::stride]]


def _model_id(ckpt: Path) -> str:
    return json.loads(ckpt.with_suffix(".json").read_text())["model_id"]


def ablation(names: list[str], stride: int, gan_start: int) -> str:
    """With against without quantization in training, pair by pair (ABLATION_PAIRS, both halves finished), on the
    CamVid test split (every ``stride``-th frame): bpp, PSNR, MS-SSIM, ESPNet mIoU through the real bitstream.
    Writes results/gan/ablation_table.md/.csv."""
    import torch

    from codecbench.metrics.segmenters import create

    lc = _learning_curve_module()
    torch.set_num_threads(1)
    frames = _test_frames(stride)
    earlier, seg = _tables().scored_by_model_id(OUT / f"ablation_table{TAG}.csv", len(frames)), None
    rows: list[dict] = []
    listed: set[str] = set()  # a quantized half shared by two pairs is listed once
    for pair in ABLATION_PAIRS:
        if not set(pair) <= set(names) or any(_ckpt(m) is None for m in pair):
            continue
        for m in pair:
            if m in listed:
                continue
            listed.add(m)
            ck, c = _ckpt(m), CONFIGS[m]
            r = earlier.get(_model_id(ck))
            if r is None:  # (kept in ``earlier``, so a run in two pairs is scored once)
                seg = seg or create("espnet", device="cpu")
                e = lc.evaluate_snapshot(ck, frames, seg)
                r = earlier[_model_id(ck)] = {
                    "step": e["step"], "bpp": round(e["val_bpp"], 4), "psnr": round(e["val_psnr"], 3),
                    "ms_ssim": round(e["val_ms_ssim"], 4), "miou": round(e["val_miou"], 2)}
            recipe = ", ".join(x for x in (f"--gan-ramp {c.ramp}" if c.ramp else "", f"seed {c.seed}") if x)
            rows.append({"F": c.F, "L": c.L, "training_quantization": "quantized (STE)" if c.quant == "ste" else
                         "none (quantized at inference only)", "run": f"{m}, step {r['step']}", "recipe": recipe,
                         "shipped": _is_shipped(ck), "step": r["step"], "bpp": r["bpp"], "psnr": r["psnr"],
                         "ms_ssim": r["ms_ssim"], "miou": r["miou"], "model_id": _model_id(ck),
                         "n_frames": len(frames)})
    return _tables().ablation(rows, len(frames), OUT, TAG, notes=collapse_notes(names, gan_start))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--gan-start", type=int, default=2500)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--only", default=None, help="comma-separated checkpoint names (default: all)")
    ap.add_argument("--report-only", action="store_true", help="train nothing; evaluate the finished runs")
    ap.add_argument("--train-only", action="store_true", help="train, then stop: no selection, shipping or tables")
    ap.add_argument("--no-ship", action="store_true", help="do not copy the results over the shipped files")
    ap.add_argument("--test-stride", type=int, default=1,
                    help="the ablation table's CamVid test frames: every K-th (default 1 = all 233)")
    ap.add_argument("--runs", default=None, help="the runs folder (default runs/sweep)")
    ap.add_argument("--snapshot-every", type=int, default=0, help="export EMA snapshots every N steps")
    ap.add_argument("--select", choices=["final", "best-miou"], default="final",
                    help="which weights a run contributes: its final EMA, or its best snapshot by validation mIoU")
    ap.add_argument("--deadline-minutes", type=float, default=0.0,
                    help="stop every run (resumably) this many minutes after the sweep starts; 0 = none")
    ap.add_argument("--budget", choices=["main"], default=None,
                    help="main: the shipped gan_f8_l4's budget and selection (tables get the suffix _main)")
    args = ap.parse_args(argv)
    global RUNS, SELECT, TAG
    if args.budget == "main":
        args.steps, args.gan_start = MAIN_BUDGET["steps"], MAIN_BUDGET["gan_start"]
        args.snapshot_every, args.select = MAIN_BUDGET["snapshot_every"], MAIN_BUDGET["select"]
        RUNS, TAG = Path(args.runs or MAIN_BUDGET["runs"]), "_main"
    elif args.runs:
        RUNS = Path(args.runs)
    SELECT = args.select
    default = MAIN_ORDER if args.budget == "main" else list(CONFIGS)
    names = args.only.split(",") if args.only else default
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        ap.error(f"unknown configuration(s) {unknown}; known: {sorted(CONFIGS)}")
    if not args.report_only:
        train(names, args.steps, args.gan_start, args.parallel, args.snapshot_every, args.deadline_minutes)
    if args.train_only:
        return 0
    if SELECT == "best-miou":  # the named runs, and any finished run not yet selected from
        select_best([n for n in CONFIGS if n in names or not (RUNS / n / "selected.safetensors").exists()])
    if not args.no_ship:
        ship(names)
    rows = evaluate(list(CONFIGS))
    if rows:
        sys.stdout.write(_tables().sweep(rows, args.steps, args.gan_start, OUT, TAG))
    sys.stdout.write(ablation(list(CONFIGS), args.test_stride, args.gan_start))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
