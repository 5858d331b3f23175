"""The CAE codec (Cheng et al. 2018) on Kodak: the λ sweep at the trained quantizer step, and its BD-rate against
JPEG and JPEG 2000 (issue 16).

Each shipped CAE checkpoint (one per λ, ``codecbench/codecs/cae/checkpoints/``) codes the 24 Kodak images at
step 1 (the paper's operating point: one rate per λ) through the real bitstream; PSNR (RGB) and MS-SSIM come from
``codecbench.metrics.fidelity``, as in a suite. The anchors are the committed Kodak suite's JPEG and JPEG 2000
means (``results/kodak/table.csv``, targets where all 24 images were reachable). BD-rate (pchip, bjontegaard) is
computed with ``codecbench.report.bdrate``; the paper's −13.7 % against JPEG 2000 is quoted beside ours. The
training budget of each checkpoint (steps, seconds, hardware) is read from its JSON.

Writes results/cae/: kodak_points.csv (per image), kodak_curve.csv, kodak.md, rd_kodak.png, training.png.
Run:  python bench/cae_kodak.py          (needs ../shared or $CODECBENCH_SHARED for Kodak; ~1 CPU-minute)
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "cae"
KODAK_TABLE = ROOT / "results" / "kodak" / "table.csv"
PAPER_BD_J2K = -13.7  # Cheng et al. 2018, CAE vs JPEG 2000 on Kodak, BD-rate % (quoted)


def anchors(table: Path = KODAK_TABLE) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """codec -> (bpp, PSNR, MS-SSIM) means of the Kodak suite at the targets every image reached."""
    import pandas as pd

    t = pd.read_csv(table)
    out = {}
    for codec in ("jpeg", "jpeg2000"):
        rows = t[(t["codec"] == codec) & (t["unreachable"] == 0) & (t["n"] == 24)].sort_values("bpp")
        out[codec] = (rows["bpp"].to_numpy(), rows["psnr"].to_numpy(), rows["ms_ssim"].to_numpy())
    return out


def measure() -> list[dict]:
    """One row per (checkpoint, Kodak image) at step 1."""
    import torch

    from codecbench.codecs import registry
    from codecbench.codecs.cae.checkpoint import shipped_names
    from codecbench.imageio import load_rgb
    from codecbench.metrics.fidelity import fidelity
    from codecbench.paths import require_shared

    torch.set_num_threads(1)
    kodak = require_shared("data", "kodak")
    rows = []
    for name in shipped_names():
        codec = registry.create("cae", checkpoint=name)
        lam = codec.describe()["details"]["lambda"]
        for path in sorted(kodak.glob("kodim*.png")):
            img = load_rgb(path)
            data = codec.encode(img, 1.0)
            m = fidelity(img, codec.decode(data), ("psnr", "ms_ssim"))
            rows.append({"checkpoint": name, "lambda": lam, "image": path.stem,
                         "bpp": 8 * len(data) / (img.shape[0] * img.shape[1]), **m})
    return rows


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from codecbench.codecs.cae.checkpoint import load, shipped_names
    from codecbench.report.bdrate import bd

    OUT.mkdir(parents=True, exist_ok=True)
    rows = measure()
    with open(OUT / "kodak_points.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    curve = []
    for name in shipped_names():
        r = [x for x in rows if x["checkpoint"] == name]
        curve.append({"checkpoint": name, "lambda": r[0]["lambda"], "bpp": np.mean([x["bpp"] for x in r]),
                      "psnr": np.mean([x["psnr"] for x in r]), "ms_ssim": np.mean([x["ms_ssim"] for x in r])})
    curve.sort(key=lambda c: c["bpp"])
    with open(OUT / "kodak_curve.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(curve[0]))
        w.writeheader()
        w.writerows(curve)
    cae = np.array([c["bpp"] for c in curve]), np.array([c["psnr"] for c in curve]), np.array([c["ms_ssim"]
                                                                                                 for c in curve])
    anc = anchors()
    lines = ["# CAE (Cheng et al. 2018) on Kodak: λ sweep at quantizer step 1\n",
             "Regenerate: `python bench/cae_kodak.py`. Anchors: `results/kodak/table.csv` (the Kodak suite), "
             "targets that all 24 images reached.\n",
             "| checkpoint | λ | bpp | PSNR (dB) | MS-SSIM |", "|---|--:|--:|--:|--:|"]
    lines += [f"| {c['checkpoint']} | {c['lambda']:g} | {c['bpp']:.4f} | {c['psnr']:.3f} | {c['ms_ssim']:.4f} |"
              for c in curve]
    lines += ["", "| BD of CAE against | PSNR BD-rate | BD-PSNR (dB) | MS-SSIM BD-rate | note |",
              "|---|--:|--:|--:|---|"]
    figures = {}
    for codec, label in (("jpeg", "JPEG"), ("jpeg2000", "JPEG 2000")):
        a = anc[codec]
        p = bd((a[0], a[1]), (cae[0], cae[1]), codec="cae", anchor_name=codec, metric="psnr")
        m = bd((a[0], a[2]), (cae[0], cae[2]), codec="cae", anchor_name=codec, metric="ms_ssim")
        figures[codec] = {"psnr_bd_rate": p.bd_rate, "bd_psnr": p.bd_metric, "ms_ssim_bd_rate": m.bd_rate}
        note = "; ".join(dict.fromkeys(x for x in (p.warning, m.warning) if x))
        lines.append(f"| {label} | {p.bd_rate:+.1f} % | {p.bd_metric:+.2f} | {m.bd_rate:+.1f} % | {note} |")
    lines.append(f"| JPEG 2000, paper (quoted) | {PAPER_BD_J2K:+.1f} % | | | Cheng et al. 2018, GPU-trained |")
    budget = []
    for name in shipped_names():
        cfg = load(name).config
        tr = cfg["training"]
        budget.append((name, cfg["lambda"], tr["steps"], tr["train_s"], tr["config"].get("init_from"),
                       tr["hardware"]))
    lines += ["", "## Training budget (what it bought)\n",
              "| checkpoint | λ | steps (8 crops of 128²) | train s | warm start | torch threads | load avg at start |",
              "|---|--:|--:|--:|---|--:|---|"]
    lines += [f"| {n} | {lam:g} | {st} | {s:.0f} | {init or 'none'} | {hw['torch_threads']} | "
              f"{hw['loadavg_start'][0]:.1f} |" for n, lam, st, s, init, hw in budget]
    total_s = sum(b[3] for b in budget)
    lines += ["", f"In all {sum(b[2] for b in budget)} steps in {total_s / 60:.0f} CPU-minutes of one thread on this "
              "2-core machine (shared with other jobs); data: CamVid train frames and scikit-image photos, never "
              "Kodak. The validation curves are in training.png."]
    (OUT / "kodak.md").write_text("\n".join(lines) + "\n")
    (OUT / "kodak_bd.json").write_text(json.dumps(figures, indent=1) + "\n")

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for codec, label in (("jpeg", "JPEG"), ("jpeg2000", "JPEG 2000")):
        ax[0].plot(anc[codec][0], anc[codec][1], "o-", label=label)
        ax[1].plot(anc[codec][0], anc[codec][2], "o-", label=label)
    ax[0].plot(cae[0], cae[1], "s-", label="CAE (λ sweep, step 1)")
    ax[1].plot(cae[0], cae[2], "s-", label="CAE (λ sweep, step 1)")
    for a, yl in zip(ax, ("PSNR (dB)", "MS-SSIM")):
        a.set_xlabel("bpp")
        a.set_ylabel(yl)
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle("Kodak (24 images): CAE against JPEG and JPEG 2000")
    fig.tight_layout()
    fig.savefig(OUT / "rd_kodak.png", dpi=110)
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for name in shipped_names():
        cfg = load(name).config
        c = cfg["validation_curve"]
        ax[0].plot([r["train_s"] for r in c], [r["val_psnr"] for r in c], "o-", label=f"{name} λ={cfg['lambda']:g}")
        ax[1].plot([r["train_s"] for r in c], [r["val_bpp"] for r in c], "o-", label=name)
    ax[0].set_ylabel("validation PSNR (dB, 8 CamVid train frames held out)")
    ax[1].set_ylabel("validation bpp (real bitstream, step 1)")
    for a in ax:
        a.set_xlabel("training seconds (this checkpoint)")
        a.grid(alpha=0.3)
    ax[0].legend()
    fig.tight_layout()
    fig.savefig(OUT / "training.png", dpi=110)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
