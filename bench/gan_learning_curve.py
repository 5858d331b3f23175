"""Learning curves of a GAN codec training run: validation PSNR, MS-SSIM and ESPNet mIoU of each snapshot.

    python bench/gan_learning_curve.py runs/gan_f8_l4_long [--out results/gan] [--name gan_f8_l4]

Each snapshot (``RUN/snapshots/step_*.safetensors``, written by ``codecbench gan train --snapshot-every N``: the
EMA weights, float16, as shipped) is run through the real bitstream on the run's held-out validation frames (the
last ``val_count`` frames of its training list; CamVid train has labels, so mIoU is against ground truth, void
ignored, confusion summed over the frames). Writes ``OUT/learning_curve_NAME.csv`` (one row per snapshot; rows
already there are reused by model id) and ``OUT/learning_curve_NAME.png`` (metrics against steps and against
training wall time), and prints a log-linear extrapolation of PSNR in the steps: PSNR ≈ a + b·log10(steps) fitted
over the later half of the snapshots, and the steps that fit says +1 dB needs.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np
import torch

FIELDS = ["step", "wall_s", "model_id", "val_bpp", "val_psnr", "val_ms_ssim", "val_miou", "n_frames", "phase"]


def _val_frames(cfg: dict):
    from codecbench.datasets import load_dataset, load_image, load_label

    ds = load_dataset(cfg["source"], split=cfg.get("split"), limit=cfg.get("limit"))
    n = min(int(cfg.get("val_count", 8)), max(0, len(ds.images) - 1))
    refs = ds.images[len(ds.images) - n:]
    return [(r.id, load_image(r), load_label(r)) for r in refs]


def evaluate_snapshot(path: Path, frames, segmenter) -> dict:
    from codecbench.codecs.gan import codec
    from codecbench.codecs.gan.checkpoint import load_model
    from codecbench.metrics.fidelity import fidelity
    from codecbench.metrics.segmenters.registry import confusion, scores

    lm = load_model(path)
    cfg = json.loads(path.with_suffix(".json").read_text())
    bpps, psnrs, msssims, cm = [], [], [], None
    for _id, img, label in frames:
        data = codec.encode(lm.model, lm.model_id, img)
        rec = codec.decode(lm.model, lm.model_id, data)
        bpps.append(8 * len(data) / (img.shape[0] * img.shape[1]))
        f = fidelity(img, rec, ["psnr", "ms_ssim"])
        psnrs.append(f["psnr"])
        msssims.append(f["ms_ssim"])
        pred = segmenter.predict(rec[None])[0]
        c = confusion(pred, label, segmenter.num_classes, segmenter.ignore_index)
        cm = c if cm is None else cm + c
    tr = cfg.get("training", {})
    step = int(cfg.get("trained_steps", 0))
    return {"step": step, "wall_s": cfg.get("wall_s"), "model_id": lm.model_id,
            "val_bpp": float(np.mean(bpps)), "val_psnr": float(np.mean(psnrs)),
            "val_ms_ssim": float(np.mean(msssims)), "val_miou": scores(cm).miou,
            "n_frames": len(frames), "phase": "gan" if step > int(tr.get("gan_start", 0)) else "mse"}


def snapshot_rows(run: Path, csv_path: Path, log=lambda msg: print(msg, flush=True)) -> list[dict]:
    """Every snapshot of ``run`` through the real bitstream on the run's validation frames (``evaluate_snapshot``),
    sorted by step; rows already in ``csv_path`` are reused by model id, and the csv is rewritten (atomically)."""
    from codecbench.metrics.segmenters import create

    known = {}
    if csv_path.exists():
        with csv_path.open() as f:
            known = {r["model_id"]: r for r in csv.DictReader(f)}
    frames, seg = None, None
    rows = []
    for snap in sorted((run / "snapshots").glob("step_*.safetensors")):
        mid = json.loads(snap.with_suffix(".json").read_text())["model_id"]
        if mid in known:
            r = known[mid]
            rows.append({k: (r[k] if k in ("model_id", "phase") else float(r[k]) if r[k] not in ("", "None") else None)
                         for k in FIELDS})
            rows[-1]["step"] = int(rows[-1]["step"])
            continue
        if seg is None:
            frames = _val_frames(json.loads((run / "state.json").read_text())["config"])
            seg = create("espnet", device="cpu")
        rows.append(evaluate_snapshot(snap, frames, seg))
        log(f"{snap.name}: {rows[-1]}")
    rows.sort(key=lambda r: r["step"])
    tmp = csv_path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(csv_path)
    return rows


def _fit(pts: list[tuple[float, float]]) -> tuple[float, float]:
    b, a = np.polyfit(np.log10([p[0] for p in pts]), [p[1] for p in pts], 1)
    return float(a), float(b)


def extrapolate(rows: list[dict]) -> dict | None:
    """Fit metric = a + b·log10(step) for PSNR and mIoU over the later half of one phase's snapshots (the GAN phase
    once it has four, else the MSE warm-up, whose trend is not disturbed by the switch of losses). For each, the
    steps that +1 dB (PSNR) or +5 points (mIoU) over the last snapshot need; inf where the trend does not rise."""
    gan = [r for r in rows if r["phase"] == "gan" and r["step"] > 0]
    mse = [r for r in rows if r["phase"] == "mse" and r["step"] > 0]
    phase, use = ("gan", gan) if len(gan) >= 4 else ("mse", mse)
    if len(use) < 3:
        return None
    use = use[len(use) // 2 - (1 if len(use) % 2 == 0 and len(use) < 6 else 0):]
    last = use[-1]["step"]
    out: dict = {"phase": phase, "last_step": int(last), "fitted_points": len(use)}
    for key, gain, name in (("val_psnr", 1.0, "psnr"), ("val_miou", 5.0, "miou")):
        a, b = _fit([(r["step"], r[key]) for r in use])
        out[name] = {"a": a, "b_per_decade": b,
                     "steps_for_gain": float(last * 10 ** (gain / b)) if b > 0 else math.inf, "gain": gain}
    return out


def plot(rows: list[dict], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), constrained_layout=True)
    steps = [r["step"] for r in rows]
    hours = [float(r["wall_s"] or 0) / 3600 for r in rows]
    for col, (key, label) in enumerate([("val_psnr", "PSNR (dB)"), ("val_ms_ssim", "MS-SSIM"),
                                        ("val_miou", "ESPNet mIoU (%)")]):
        ys = [r[key] for r in rows]
        for row, (xs, xl) in enumerate([(steps, "training steps"), (hours, "training wall time (h, CPU)")]):
            ax = axes[row][col]
            ax.plot(xs, ys, "o-", ms=3)
            gan = [i for i, r in enumerate(rows) if r["phase"] == "gan"]
            if gan:
                ax.axvline(xs[gan[0]], color="grey", ls=":", lw=1)
            ax.set_xlabel(xl)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
    fig.suptitle(title + " (dotted: GAN losses on)")
    tmp = out.with_name(out.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--out", default="results/gan")
    ap.add_argument("--name", default="gan_f8_l4")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = snapshot_rows(Path(args.run), out / f"learning_curve_{args.name}.csv")
    if rows:
        plot(rows, out / f"learning_curve_{args.name}.png",
             f"{args.name}: validation on {int(rows[0]['n_frames'])} held-out CamVid train frames, real bitstream")
    ext = extrapolate(rows)
    if ext:
        (out / f"learning_curve_{args.name}.json").write_text(json.dumps(ext, indent=2) + "\n")
        for name, unit in (("psnr", "dB"), ("miou", "points")):
            e = ext[name]
            print(f"{ext['phase']} phase, {name}: {e['a']:.2f} + {e['b_per_decade']:.2f}·log10(step); "
                  f"+{e['gain']:g} {unit} over step {ext['last_step']} needs ≈ {e['steps_for_gain']:.0f} steps")


if __name__ == "__main__":
    main()
