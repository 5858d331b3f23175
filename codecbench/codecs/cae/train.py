"""Training of the CAE codec (``python -m codecbench.codecs.cae.train NAME --lam λ``).

Data: CamVid train frames (../shared, every ``stride``-th of train.txt; the last ``val_frames + gap`` held out)
and scikit-image's bundled colour photos; never Kodak (the test set). Loss: MSE on RGB [0, 1] of the decoder
output on y + U(−½, ½), plus λ·mean(y²) (Cheng et al.'s rate proxy); Adam on random ``crop``² crops with
horizontal flips, the learning rate cosine-decayed to a tenth over a wall-clock budget, fixed seeds, one torch
thread. After training the PCA rotation is fitted on latents of ``pca_crops`` training crops. Validation, every
``eval_every_s`` seconds of training: bpp of the real bitstream (step 1) and PSNR (dB, RGB, peak 255) on the
held-out frames, with a PCA fitted on the fly: the validation curve.

Output: ``NAME.safetensors`` + ``NAME.json`` (architecture, λ, data, steps, wall time, hardware, curve) in the
package's checkpoint folder (or ``--out``), and ``NAME_val.csv`` beside them.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..training_images import training_sources
from .checkpoint import CHECKPOINT_DIR


@dataclass
class Config:
    name: str = "cae_l2"
    lam: float = 0.01
    width: int = 64
    K: int = 32
    budget_s: float = 600.0
    eval_every_s: float = 60.0
    batch: int = 8
    crop: int = 128
    lr: float = 1e-3
    stride: int = 3
    val_frames: int = 8
    gap: int = 10
    pca_crops: int = 64
    seed: int = 0
    init_from: str | None = None


def crops(images: list[np.ndarray], n: int, size: int, rng):
    """n random size² crops (flipped with p = ½) as float32 n×3×size×size on [0, 1]."""
    import torch

    out = []
    for _ in range(n):
        img = images[rng.integers(len(images))]
        i, j = rng.integers(0, img.shape[0] - size + 1), rng.integers(0, img.shape[1] - size + 1)
        c = img[i:i + size, j:j + size]
        out.append(c[:, ::-1] if rng.random() < 0.5 else c)
    return torch.from_numpy(np.ascontiguousarray(np.stack(out))).permute(0, 3, 1, 2).float().div_(255.0)


def fit_rotation(model, images: list[np.ndarray], cfg: Config, seed: int) -> None:
    """Fit the model's PCA buffers on latents of cfg.pca_crops fixed training crops."""
    import torch

    from .model import fit_pca

    x = crops(images, cfg.pca_crops, cfg.crop, np.random.default_rng(seed))
    with torch.no_grad():
        y = torch.cat([model.encode(x[i:i + 16]) for i in range(0, len(x), 16)])
    fit_pca(model, y.permute(0, 2, 3, 1).reshape(-1, model.K))


def validate(model, val: list[np.ndarray]) -> tuple[float, float]:
    """(mean bpp, mean PSNR dB) of the real bitstream at step 1 over the validation images."""
    from . import codec

    bpp, psnr = [], []
    for img in val:
        data = codec.encode(model, "0" * 16, img, 1.0)
        out = codec.decode(model, "0" * 16, data)
        mse = float(np.mean((out.astype(np.float64) - img.astype(np.float64)) ** 2))
        bpp.append(8.0 * len(data) / (img.shape[0] * img.shape[1]))
        psnr.append(10.0 * math.log10(255.0**2 / max(mse, 1e-12)))
    return float(np.mean(bpp)), float(np.mean(psnr))


def train(cfg: Config, camvid_root: Path, out_dir: Path = CHECKPOINT_DIR, log=print) -> dict[str, Any]:
    """Train one CAE within cfg.budget_s seconds of training time, fit its PCA and export it; returns the JSON."""
    import torch

    from .checkpoint import export, load
    from .model import CAE

    train_src, val_src = training_sources(camvid_root, cfg.stride, cfg.val_frames, cfg.gap)
    images, val = [im for _, im in train_src], [im for _, im in val_src]
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    model = CAE(cfg.width, cfg.K)
    if cfg.init_from:
        model.load_state_dict(load(cfg.init_from).model.state_dict())
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    load_start = os.getloadavg()
    curve: list[dict[str, Any]] = []
    t0, train_time, step, next_eval = time.time(), 0.0, 0, 0.0
    mse_acc: list[float] = []
    rate_acc: list[float] = []
    while True:
        if train_time >= next_eval or train_time >= cfg.budget_s:
            model.eval()
            fit_rotation(model, images, cfg, cfg.seed + 7)
            bpp, psnr = validate(model, val)
            model.train()
            row = {"step": step, "train_s": round(train_time, 1), "val_bpp": bpp, "val_psnr": psnr,
                   "train_mse": float(np.mean(mse_acc)) if mse_acc else None,
                   "train_y2": float(np.mean(rate_acc)) if rate_acc else None}
            curve.append(row)
            log(f"{cfg.name}: step {step} ({train_time:.0f} s) val {bpp:.4f} bpp {psnr:.2f} dB "
                f"train mse {row['train_mse']} y² {row['train_y2']}")
            mse_acc, rate_acc = [], []
            next_eval += cfg.eval_every_s
            if train_time >= cfg.budget_s:
                break
        ts = time.time()
        for g in opt.param_groups:  # cosine decay to lr/10 over the budget
            g["lr"] = cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, train_time / cfg.budget_s))))
        x = crops(images, cfg.batch, cfg.crop, rng)
        out, y = model(x, noise=True)
        mse = torch.nn.functional.mse_loss(out, x)
        y2 = y.pow(2).mean()
        loss = mse + cfg.lam * y2
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        mse_acc.append(mse.item())
        rate_acc.append(y2.item())
        train_time += time.time() - ts
    model.eval()
    fit_rotation(model, images, cfg, cfg.seed + 7)
    record = {
        "lambda": cfg.lam,
        "architecture": "3× (5×5 conv stride 2, PReLU) / 3× (5×5 transposed conv stride 2, PReLU); PCA rotation; "
                        "uniform quantizer; per-channel Laplace range coder",
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "training": {
            "config": asdict(cfg), "steps": step, "train_s": round(train_time, 1),
            "total_wall_s": round(time.time() - t0, 1),
            "data": {"train_images": [s for s, _ in train_src], "val_images": [s for s, _ in val_src],
                     "note": "CamVid train frames and scikit-image photos; Kodak never used"},
            "loss": "MSE(RGB [0,1]) + lambda * mean(y^2), y + U(-0.5, 0.5) in training", "optimizer": "Adam",
            "hardware": {"machine": platform.machine(), "cpu_count": os.cpu_count(),
                         "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                         "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
        },
        "validation_curve": curve,
    }
    export(model, out_dir / f"{cfg.name}.safetensors", record)
    with open(out_dir / f"{cfg.name}_val.csv", "w") as fh:
        fh.write("step,train_s,val_bpp,val_psnr\n")
        for r in curve:
            fh.write(f"{r['step']},{r['train_s']},{r['val_bpp']:.5f},{r['val_psnr']:.4f}\n")
    return record


def main(argv=None) -> int:
    import torch

    from codecbench.paths import require_shared

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--lam", type=float, required=True, help="weight of mean(y²) in the loss")
    ap.add_argument("--budget", type=float, default=600.0, help="training seconds (default 600)")
    ap.add_argument("--eval-every", type=float, default=60.0)
    ap.add_argument("--init-from", help="warm start from this CAE checkpoint (name or path)")
    ap.add_argument("--out", type=Path, default=CHECKPOINT_DIR)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = Config(name=args.name, lam=args.lam, budget_s=args.budget, eval_every_s=args.eval_every,
                 init_from=args.init_from)
    train(cfg, require_shared("data", "camvid"), args.out, log=lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
