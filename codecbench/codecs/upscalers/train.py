"""Training of the learned upscalers on decoded-then-upscaled images (``python -m codecbench.codecs.upscalers.train``).

Data: CamVid train frames (../shared, every ``stride``-th of train.txt, the last ``val_frames + gap`` held out)
and scikit-image's bundled colour photos; never Kodak. Each source image is downscaled (Lanczos, scale 0.5 or
0.7), coded by JPEG 2000 (bpp over the original pixels drawn log-uniformly in [0.04, 0.4]) or WebP (quality 0–60),
decoded and upscaled bicubically back to its size: the network learns to map that to the original, undoing blur
and coding artefacts together. Loss: MSE on random 64×64 crops (horizontal flips), Adam, fixed seeds, one torch
thread, a wall-clock budget. Validation: PSNR (dB, RGB, peak 255) of the refined vs the bicubic image on the held-out
frames coded at 0.125 bpp (JPEG 2000, scale 0.5), measured every ``eval_every_s`` seconds: the validation curve.

Output: ``NAME.safetensors`` (float32 tensors) + ``NAME.json`` (architecture, provenance, curve) in the package's
upscaler folder (or ``--out``), and ``NAME_val.csv`` beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..training_images import training_sources
from . import CHECKPOINT_DIR, FORMAT, resize, scaled_size


@dataclass
class Config:
    name: str = "srcnn"
    arch_args: dict = field(default_factory=dict)
    budget_s: float = 720.0
    eval_every_s: float = 60.0
    batch: int = 16
    crop: int = 64
    lr: float = 1e-3
    stride: int = 3
    val_frames: int = 8
    gap: int = 10
    natural_variants: int = 4
    seed: int = 0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def _degrade(image: np.ndarray, codec_name: str, scale: float, level: float) -> np.ndarray:
    """Downscale (Lanczos), code, decode, upscale (bicubic) to the original size. level: bpp over the original
    pixels (jpeg2000) or quality (webp)."""
    from codecbench.codecs import registry

    h, w = image.shape[:2]
    small = resize(image, scaled_size(h, w, scale), "lanczos")
    codec = registry.create(codec_name)
    sh, sw = small.shape[:2]
    knob = level * h * w / (sh * sw) if codec_name == "jpeg2000" else level
    decoded = codec.decode(codec.encode(small, knob))
    return resize(decoded, (h, w), "bicubic")


def build_data(cfg: Config, camvid_root: Path, log=print):
    """(train pairs, val pairs, description): lists of (degraded input, original) RGB uint8."""
    rng = np.random.default_rng(cfg.seed)
    train_src, val_src = training_sources(camvid_root, cfg.stride, cfg.val_frames, cfg.gap)
    t0 = time.time()
    train = []
    for sid, img in train_src:
        for _ in range(cfg.natural_variants if sid.startswith("skimage") else 1):
            scale = 0.5 if rng.random() < 0.7 else 0.7
            if rng.random() < 0.6:
                codec, level = "jpeg2000", float(math.exp(rng.uniform(math.log(0.04), math.log(0.4))))
            else:
                codec, level = "webp", float(rng.uniform(0.0, 60.0))
            train.append((_degrade(img, codec, scale, level), img))
    val = [(_degrade(img, "jpeg2000", 0.5, 0.125), img) for _, img in val_src]
    desc = {
        "train_images": [s for s, _ in train_src], "train_pairs": len(train),
        "val_images": [s for s, _ in val_src],
        "degradation": "Lanczos down ×0.5 (p=0.7) or ×0.7; JPEG 2000 at 0.04–0.4 bpp over the original (p=0.6, "
                       "log-uniform) or WebP quality 0–60; decode; bicubic up",
        "val_degradation": "Lanczos ×0.5, JPEG 2000 0.125 bpp over the original, bicubic up",
        "prep_s": round(time.time() - t0, 1),
    }
    log(f"data: {len(train)} training pairs, {len(val)} validation frames ({desc['prep_s']} s)")
    return train, val, desc


def _batch(pairs, cfg: Config, rng) -> tuple:
    import torch

    xs, ys = [], []
    c = cfg.crop
    for _ in range(cfg.batch):
        x, y = pairs[rng.integers(len(pairs))]
        i = rng.integers(0, x.shape[0] - c + 1)
        j = rng.integers(0, x.shape[1] - c + 1)
        px, py = x[i:i + c, j:j + c], y[i:i + c, j:j + c]
        if rng.random() < 0.5:
            px, py = px[:, ::-1], py[:, ::-1]
        xs.append(px)
        ys.append(py)

    def to(a):
        return torch.from_numpy(np.ascontiguousarray(np.stack(a))).permute(0, 3, 1, 2).float().div_(255.0)

    return to(xs), to(ys)


def validate(model, val) -> tuple[float, float]:
    """(mean PSNR of the bicubic inputs, mean PSNR of the refined outputs) in dB over the validation frames."""
    from . import refine

    model.eval()
    base = [_psnr(x, y) for x, y in val]
    out = [_psnr(refine(model, x), y) for x, y in val]
    model.train()
    return float(np.mean(base)), float(np.mean(out))


def train(cfg: Config, data, out_dir: Path = CHECKPOINT_DIR, log=print) -> dict:
    """Train one upscaler within cfg.budget_s seconds of wall time and export it; returns the JSON written."""
    import torch
    from safetensors.torch import save_file

    from .models import ARCHITECTURES

    train_pairs, val, desc = data
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    model = ARCHITECTURES[cfg.name](**cfg.arch_args)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    load_start = os.getloadavg()
    curve: list[dict[str, Any]] = []
    t0 = time.time()
    base, v = validate(model, val)
    curve.append({"step": 0, "wall_s": 0.0, "val_psnr_bicubic": base, "val_psnr": v, "train_mse": None})
    log(f"{cfg.name}: step 0 val {v:.3f} dB (bicubic {base:.3f})")
    step, next_eval, losses = 0, cfg.eval_every_s, []
    train_time = 0.0
    while True:
        ts = time.time()
        x, y = _batch(train_pairs, cfg, rng)
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item())
        train_time += time.time() - ts
        done = train_time >= cfg.budget_s
        if train_time >= next_eval or done:
            base, v = validate(model, val)
            curve.append({"step": step, "wall_s": round(train_time, 1), "val_psnr_bicubic": base, "val_psnr": v,
                          "train_mse": float(np.mean(losses))})
            log(f"{cfg.name}: step {step} ({train_time:.0f} s) train mse {np.mean(losses):.5f} "
                f"val {v:.3f} dB (bicubic {base:.3f})")
            losses = []
            next_eval += cfg.eval_every_s
        if done:
            break
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: t.detach().contiguous() for k, t in model.state_dict().items()}
    path = out_dir / f"{cfg.name}.safetensors"
    save_file(tensors, str(path))
    record = {
        "format": FORMAT,
        "architecture": cfg.name,
        "arch_args": cfg.arch_args,
        "parameters": int(sum(t.numel() for t in tensors.values())),
        "input": "bicubic upscale of the decoded image, RGB [0, 1]",
        "training": {
            "config": asdict(cfg), "data": desc, "steps": step, "train_wall_s": round(train_time, 1),
            "total_wall_s": round(time.time() - t0, 1), "optimizer": "Adam", "loss": "MSE on RGB [0, 1]",
            "hardware": {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
                         "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                         "torch": torch.__version__, "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
                         "nice": os.nice(0)},
            "final_val_psnr": curve[-1]["val_psnr"],
            "final_val_gain_db": curve[-1]["val_psnr"] - curve[-1]["val_psnr_bicubic"],
        },
        "validation_curve": curve,
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    with open(out_dir / f"{cfg.name}_val.csv", "w") as fh:
        fh.write("step,wall_s,train_mse,val_psnr_bicubic,val_psnr\n")
        for r in curve:
            fh.write(f"{r['step']},{r['wall_s']},{'' if r['train_mse'] is None else round(r['train_mse'], 6)},"
                     f"{r['val_psnr_bicubic']:.4f},{r['val_psnr']:.4f}\n")
    return record


def main(argv=None) -> int:
    import torch

    from codecbench.paths import require_shared

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="+", choices=["srcnn", "rescnn"])
    ap.add_argument("--budget", type=float, default=720.0, help="training seconds per network (default 720)")
    ap.add_argument("--eval-every", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=CHECKPOINT_DIR)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    data = build_data(Config(), require_shared("data", "camvid"))
    for name in args.names:
        cfg = Config(name=name, budget_s=args.budget, eval_every_s=args.eval_every,
                     lr=1e-3 if name == "srcnn" else 5e-4)
        train(cfg, data, args.out, log=lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
