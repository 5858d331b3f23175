"""The learned upscalers' training record: validation curves (PNG) and a Markdown summary from their JSON files.

    python bench/sr_training_report.py     # -> results/sr/upscaler_training/{val_curve.png, TRAINING.md, *_val.csv}

Reads codecbench/codecs/upscalers/NAME.json (written by ``python -m codecbench.codecs.upscalers.train``).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "sr" / "upscaler_training"


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from codecbench.codecs import upscalers

    OUT.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    lines = ["# Learned upscalers: training record", "",
             "Validation: PSNR (dB, RGB) on 8 held-out CamVid train frames (the last 8 of train.txt, 10 more left "
             "out as a gap), ×0.5 Lanczos, JPEG 2000 at 0.125 bpp over the original, then bicubic (the baseline) "
             "or the network.", "",
             "| upscaler | parameters | file (KiB) | steps | train wall (s) | total wall (s) | hardware "
             "| load avg start→end | val bicubic (dB) | val final (dB) | gain (dB) |",
             "|---|--:|--:|--:|--:|--:|---|---|--:|--:|--:|"]
    base = None
    for name in upscalers.LEARNED:
        p = upscalers.checkpoint_path(name)
        if not p.is_file():
            continue
        rec = json.loads(p.with_suffix(".json").read_text())
        tr, curve = rec["training"], rec["validation_curve"]
        hw = tr["hardware"]
        ax.plot([c["step"] for c in curve], [c["val_psnr"] for c in curve], marker="o", ms=3, label=name)
        base = curve[0]["val_psnr_bicubic"]
        lines.append(
            f"| {name} | {rec['parameters']} | {p.stat().st_size / 1024:.0f} | {tr['steps']} | {tr['train_wall_s']} | "
            f"{tr['total_wall_s']} | {hw['cpu_count']} CPU cores, {hw['torch_threads']} torch thread, "
            f"nice {hw['nice']}, "
            f"torch {hw['torch']} | {hw['loadavg_start'][0]:.1f}→{hw['loadavg_end'][0]:.1f} | {base:.3f} | "
            f"{curve[-1]['val_psnr']:.3f} | {curve[-1]['val_psnr'] - base:+.3f} |")
        src = p.parent / f"{name}_val.csv"
        if src.is_file():
            shutil.copyfile(src, OUT / src.name)
        data = tr["data"]
    if base is None:
        print("no trained upscaler found", file=sys.stderr)
        return 1
    ax.axhline(base, color="grey", ls="--", label="bicubic")
    ax.set_xlabel("training step (batch 16 × 64×64 crops)")
    ax.set_ylabel("validation PSNR (dB)")
    ax.set_title("Upscalers on decoded ×0.5 JPEG 2000 frames (0.125 bpp)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "val_curve.png", dpi=120)
    lines += ["", f"Training data: {data['train_pairs']} pairs from {len(data['train_images'])} images "
              f"({sum(s.startswith('camvid') for s in data['train_images'])} CamVid train frames, every 3rd, and "
              f"{sum(s.startswith('skimage') for s in data['train_images'])} scikit-image photos ×4 variants; no "
              f"Kodak). Degradation: {data['degradation']}. Data preparation {data['prep_s']} s.", "",
              "![validation curve](val_curve.png)", ""]
    (OUT / "TRAINING.md").write_text("\n".join(lines) + "\n")
    print(OUT / "TRAINING.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
