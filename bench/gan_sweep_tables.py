"""The GAN sweep's two tables (bench/gan_sweep.py): the F/L sweep on validation and the quantization ablation on
the CamVid test split, each as Markdown and CSV under results/gan/ (``TAG`` "_main" at the main model's budget).

Rows come from gan_sweep.evaluate / gan_sweep.ablation: bpp from the real bitstream, PSNR in dB, MS-SSIM in
[0, 1], ESPNet mIoU in % of the summed confusion matrices.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def scored_by_model_id(path: Path, n_frames: int) -> dict[str, dict]:
    """An ablation CSV's rows by model id, where it scored the same number of test frames: a rerun scores only
    weights it has not scored (the evaluation is deterministic; model id = hash of the weights)."""
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["model_id"]: r for r in rows if r.get("model_id") and r.get("n_frames") == str(n_frames)}


def sweep(rows: list[dict], steps: int, gan_start: int, out: Path, tag: str) -> str:
    """results/gan/sweep_table{tag}.md/.csv: one row per finished run (validation, 8 held-out frames)."""
    write_csv(out / f"sweep_table{tag}.csv", rows)
    lines = [f"# GAN F/L sweep and quantization ablation on equal terms ({steps} steps each, MSE to {gan_start})\n",
             "Each trained from scratch with the same recipe (`bench/gan_sweep.py`) except where the config names "
             "`--gan-ramp` or a seed, two to five at a time, one torch thread each, on the shared 2-core CPU (so "
             "train wall depends on the load; the steps are equal). Validation: the 8 held-out CamVid train frames "
             "through the real bitstream; mIoU is ESPNet's against ground truth. Step: the training step of the "
             "weights shown (with --select best-miou, the best snapshot by validation mIoU); train wall: up to that "
             "step. Test-split "
             "figures: results/automotive-camvid/.\n",
             "| checkpoint | config | step | bound bpp | bpp | PSNR (dB) | MS-SSIM | mIoU % | train wall (s) "
             "| load at start |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        ld = r["load_start"]
        lines.append(f"| {r['name']} | {r['config']} | {r['steps']} | {r['nominal_bpp']:.4f} | {r['val_bpp']} | "
                     f"{r['val_psnr']} | {r['val_ms_ssim']} | {r['val_miou']} | {r['train_wall_s']} | "
                     f"{'' if ld is None else f'{ld:.1f}'} |")
    text = "\n".join(lines) + "\n"
    (out / f"sweep_table{tag}.md").write_text(text)
    return text


def ablation(rows: list[dict], n_frames: int, out: Path, tag: str, notes: Sequence[str] = ()) -> str:
    """results/gan/ablation_table{tag}.md/.csv: with against without quantization in training, pair by pair;
    ``notes``: lines printed under the table (runs that collapsed)."""
    if not rows:
        return ""
    write_csv(out / f"ablation_table{tag}.csv", rows)
    lines = [f"# Quantization in training, on and off, at equal budget (CamVid test, {n_frames} frames)\n",
             "Each pair: the same recipe and steps (`bench/gan_sweep.py`), from scratch; within a pair only "
             "`--quant-mode` differs, except where the recipe column gives the no-quant half a second seed. Real "
             "bitstream; ESPNet mIoU of the summed confusion matrices. Runs marked not shipped were kept out of the "
             "package by the 60 MiB checkpoint cap (retrain: `python bench/gan_sweep.py --budget main --only NAME`)."
             + (" At the main budget (--budget main) each run contributes its best snapshot by validation mIoU, so a "
                "run that collapsed contributes its best step before the collapse." if tag == "_main" else "")
             + " The F8 L4 pair uses `--gan-ramp 1000` (the GAN terms' weight rises from 0.001 to 1 over 1000 steps): "
             "with the terms at full weight at once, both F8 L4 halves collapsed (notes below).\n",
             "| F | L | quantization in training | run | recipe | shipped | bpp | PSNR (dB) | MS-SSIM | mIoU % |",
             "|--:|--:|---|---|---|---|--:|--:|--:|--:|"]
    for r in rows:
        lines.append(f"| {r['F']} | {r['L']} | {r['training_quantization']} | {r['run']} | {r['recipe'] or '-'} | "
                     f"{'yes' if r['shipped'] else 'no'} | {r['bpp']} | {r['psnr']} | {r['ms_ssim']} | {r['miou']} |")
    if notes:
        lines += ["", "Runs that collapsed (a validation PSNR below 8 dB: every frame decodes to the same flat image; "
                  "the onset is the first logged training MSE above 20x the median of the ten before it, "
                  "`bench/gan_run_logs.py`):", *[f"- {n}" for n in notes]]
    text = "\n".join(lines) + "\n"
    (out / f"ablation_table{tag}.md").write_text(text)
    return text
