"""Training of the GAN codec (``codecbench gan train``).

Losses (Agustsson et al. 2019 / pix2pixHD): LSGAN over the three discriminator scales, feature matching (L1 between
discriminator features of real and reconstructed images, weight 10) and MSE on [-1, 1] images (weight 10); Adam
2e-4, beta1 0.5. A pure-MSE warm-up (``gan_start`` steps, D untouched) comes first: it gets a small CPU model to a
sensible reconstruction quickly before the adversarial terms are switched on (optionally at a higher learning
rate, ``warmup_lr``; the GAN phase always uses ``lr``). Random crops with horizontal flips,
fixed seeds, an EMA of the encoder+generator weights (what gets exported), bf16 autocast on CUDA (CPU stays fp32).

State files in the run folder (safetensors + JSON, loading never executes code): ``state.safetensors`` holds
E, G, D, the EMA copy, both Adam states and the RNG states; ``state.json`` the step, the config and the Adam
hyper-parameters. Resuming restores all of it and continues exactly (same batches, same updates).
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as nnf
from safetensors.torch import load_file, save_file

from . import codec
from .checkpoint import export_model, load_matching, resolve, weights_id
from .model import Autoencoder, MultiScaleDiscriminator
from .quantizer import MODES


@dataclass
class TrainConfig:
    """Everything that defines a training run (recorded in state.json and in exported checkpoints)."""

    source: str = "camvid"  # dataset name for codecbench.bench.datasets, or a folder of images
    split: str | None = "train"
    width: float = 0.125
    F: int = 8
    L: int = 4
    norm: str = "instance"  # "instance" (paper) or "none" in E and G
    quant_mode: str = "ste"  # "ste" (quantize in training) or "none" (quantize at inference only)
    steps: int = 10000
    gan_start: int = 6000  # steps of pure-MSE warm-up before the GAN losses
    crop: int = 128
    batch: int = 4
    lr: float = 2e-4
    warmup_lr: float | None = None  # learning rate during the MSE warm-up (None: lr)
    beta1: float = 0.5
    mse_weight: float = 10.0
    fm_weight: float = 10.0
    ema_decay: float = 0.999
    val_count: int = 8  # images held out from the end of the training list for validation
    val_every: int = 500
    ckpt_every: int = 250
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    init_from: str | None = None
    limit: int | None = None  # use only the first N images of the source (tests)
    command: str = ""


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device cuda requested but torch sees no CUDA device")
    return torch.device(device)


def load_images(source: str, split: str | None, limit: int | None = None) -> tuple[list[str], list[np.ndarray]]:
    """Image ids and RGB uint8 arrays of a dataset name or a folder (via codecbench.bench.datasets)."""
    from codecbench.bench.datasets import load_dataset, load_image

    if Path(source).is_dir():
        ds = load_dataset("folder", root=source, limit=limit)
    else:
        ds = load_dataset(source, split=split if source in ("camvid", "cityscapes") else None, limit=limit)
    if not ds.images:
        raise ValueError(f"training source {source!r} (split {split}) has no images")
    return [r.id for r in ds.images], [load_image(r) for r in ds.images]


def _crop_batch(images: list[np.ndarray], gen: torch.Generator, crop: int, batch: int) -> torch.Tensor:
    out = []
    for _ in range(batch):
        i = int(torch.randint(len(images), (1,), generator=gen))
        img = images[i]
        h, w = img.shape[:2]
        ch, cw = min(crop, h), min(crop, w)
        y = int(torch.randint(h - ch + 1, (1,), generator=gen))
        x = int(torch.randint(w - cw + 1, (1,), generator=gen))
        flip = bool(torch.randint(2, (1,), generator=gen))
        patch = img[y : y + ch, x : x + cw]
        if flip:
            patch = patch[:, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1).float() / 127.5 - 1.0
        if (ch, cw) != (crop, crop):
            t = nnf.pad(t[None], (0, crop - cw, 0, crop - ch), mode="replicate")[0]
        out.append(t)
    return torch.stack(out)


def _gan_losses(d_fake: list[list[torch.Tensor]], d_real: list[list[torch.Tensor]] | None, fm_weight: float):
    """Generator LSGAN loss and feature-matching loss (pix2pixHD weighting) over all scales."""
    adv = sum(((f[-1] - 1) ** 2).mean() for f in d_fake) / len(d_fake)
    fm = torch.zeros((), device=d_fake[0][-1].device)
    if d_real is not None and fm_weight:
        n_layers = len(d_fake[0]) - 1
        for fs, rs in zip(d_fake, d_real):
            for a, b in zip(fs[:-1], rs[:-1]):
                fm = fm + nnf.l1_loss(a, b.detach()) * (4.0 / n_layers) / len(d_fake)
    return adv, fm


class Trainer:
    """One training run in a folder: build or resume, step, validate, save."""

    def __init__(self, cfg: TrainConfig, run_dir: str | Path, log: Callable[[str], None] = print):
        if cfg.quant_mode not in MODES:
            raise ValueError(f"quant_mode must be one of {MODES}")
        self.cfg, self.run_dir, self.log = cfg, Path(run_dir), log
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(max(1, cfg.threads))
        self.device = resolve_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.model = Autoencoder(cfg.width, cfg.F, cfg.L, cfg.norm).to(self.device)
        self.disc = MultiScaleDiscriminator(cfg.width).to(self.device)
        self.ema = copy.deepcopy(self.model).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        betas = (cfg.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr, betas=betas)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.step = 0
        ids, images = load_images(cfg.source, cfg.split, cfg.limit)
        n_val = min(cfg.val_count, max(0, len(images) - 1))
        self.train_images = images[: len(images) - n_val]
        self.val_images = list(zip(ids[len(images) - n_val :], images[len(images) - n_val :]))
        self.state_path = self.run_dir / "state.safetensors"
        if self.state_path.exists():
            self._resume()
        elif cfg.init_from:
            self._warm_start(cfg.init_from)

    # --- persistence -------------------------------------------------------------------------------------------
    def _warm_start(self, src: str) -> None:
        p = Path(src)
        state = p / "state.safetensors" if p.is_dir() else None
        if state is not None and state.exists():
            t = load_file(str(state))
            parts = {"model": "model.", "disc": "disc."}
        else:
            t = {f"model.{k}": v for k, v in load_file(str(resolve(src))).items()}
            parts = {"model": "model."}
        for attr, prefix in parts.items():
            sub = {k[len(prefix) :]: v for k, v in t.items() if k.startswith(prefix)}
            loaded, skipped = load_matching(getattr(self, attr), sub)
            self.log(f"warm start {attr} from {src}: {len(loaded)} tensors loaded, skipped {skipped}")
        self.ema.load_state_dict(self.model.state_dict())

    def save(self) -> None:
        t: dict[str, torch.Tensor] = {}
        for name, mod in (("model", self.model), ("disc", self.disc), ("ema", self.ema)):
            t.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in mod.state_dict().items()})
        groups = {}
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            sd = opt.state_dict()
            for idx, st in sd["state"].items():
                for k, v in st.items():
                    t[f"{name}.{idx}.{k}"] = torch.as_tensor(v).detach().cpu().contiguous()
            groups[name] = sd["param_groups"]
        t["rng.gen"] = self.gen.get_state()
        t["rng.torch"] = torch.get_rng_state()
        tmp = self.state_path.with_suffix(".tmp")
        save_file(t, str(tmp))
        meta = {"step": self.step, "config": asdict(self.cfg), "param_groups": groups}
        jtmp = self.run_dir / "state.json.tmp"
        jtmp.write_text(json.dumps(meta, indent=2))
        tmp.replace(self.state_path)
        jtmp.replace(self.run_dir / "state.json")

    def _resume(self) -> None:
        t = load_file(str(self.state_path))
        meta = json.loads((self.run_dir / "state.json").read_text())
        for name, mod in (("model", self.model), ("disc", self.disc), ("ema", self.ema)):
            mod.load_state_dict({k[len(name) + 1 :]: v for k, v in t.items() if k.startswith(name + ".")})
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            state: dict[int, dict[str, torch.Tensor]] = {}
            for k, v in t.items():
                if k.startswith(name + "."):
                    _, idx, key = k.split(".", 2)
                    state.setdefault(int(idx), {})[key] = v.to(self.device) if key != "step" else v
            opt.load_state_dict({"state": state, "param_groups": meta["param_groups"][name]})
        self.gen.set_state(t["rng.gen"])
        torch.set_rng_state(t["rng.torch"])
        self.step = int(meta["step"])
        self.log(f"resumed {self.run_dir} at step {self.step}")

    # --- training ----------------------------------------------------------------------------------------------
    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        x = _crop_batch(self.train_images, self.gen, cfg.crop, cfg.batch).to(self.device)
        use_gan = self.step >= cfg.gan_start
        lr = cfg.lr if use_gan or cfg.warmup_lr is None else cfg.warmup_lr
        for group in self.opt_g.param_groups:
            group["lr"] = lr
        self.model.train()
        with self._autocast():
            y = self.model(x, mode=cfg.quant_mode)
            mse = ((y.float() - x) ** 2).mean()
        out = {"mse": float(mse.detach())}
        if use_gan:
            self.disc.train()
            with self._autocast():
                d_real = self.disc(x)
                d_fake_det = self.disc(y.detach())
                d_loss = sum(((r[-1].float() - 1) ** 2).mean() + (f[-1].float() ** 2).mean()
                             for r, f in zip(d_real, d_fake_det)) / len(d_real)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            with self._autocast():
                d_fake = self.disc(y)
                adv, fm = _gan_losses(d_fake, [[a.detach() for a in r] for r in d_real], cfg.fm_weight)
            g_loss = adv.float() + cfg.fm_weight * fm.float() + cfg.mse_weight * mse
            out.update(d=float(d_loss.detach()), adv=float(adv.detach()), fm=float(fm.detach()))
        else:
            g_loss = cfg.mse_weight * mse
        if not torch.isfinite(g_loss):
            raise FloatingPointError(
                f"training diverged at step {self.step}: non-finite loss; resume from the last saved state "
                f"with a lower --lr/--warmup-lr"
            )
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        decay = min(cfg.ema_decay, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            for pe, pm in zip(self.ema.state_dict().values(), self.model.state_dict().values()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay) if pe.is_floating_point() else pe.copy_(pm)
        out["g"] = float(g_loss.detach())
        return out

    def validate(self, save_samples: bool = True) -> dict[str, float]:
        """PSNR (dB) and real bpp (all bytes over original pixels) of the EMA model on the held-out images."""
        if not self.val_images:
            return {}
        mid = weights_id({k: v.half() for k, v in self.ema.state_dict().items()})
        psnrs, bpps, strips = [], [], []
        for _id, img in self.val_images:
            data = codec.encode(self.ema, mid, img, self.device)
            rec = codec.decode(self.ema, mid, data, self.device)
            mse = np.mean((img.astype(np.float64) - rec) ** 2)
            psnrs.append(10 * math.log10(255.0**2 / max(mse, 1e-10)))
            bpps.append(8.0 * len(data) / (img.shape[0] * img.shape[1]))
            strips.append(np.concatenate([img, rec], axis=1))
        if save_samples:
            from PIL import Image

            Image.fromarray(np.concatenate(strips[:4], axis=0)).save(self.run_dir / f"val_{self.step:06d}.png")
        return {"val_psnr": float(np.mean(psnrs)), "val_bpp": float(np.mean(bpps)),
                "bound_bpp": self.cfg.F * math.log2(self.cfg.L) / 256.0}

    def run(self) -> dict[str, float]:
        cfg = self.cfg
        logf = (self.run_dir / "log.jsonl").open("a")
        t0, last = time.time(), {}
        try:
            while self.step < cfg.steps:
                rec = self.train_step()
                if self.step % 50 == 0 or self.step == cfg.steps:
                    rec.update(step=self.step, elapsed_s=round(time.time() - t0, 1))
                    logf.write(json.dumps(rec) + "\n")
                    logf.flush()
                if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                    last = self.validate()
                    logf.write(json.dumps({"step": self.step, **last}) + "\n")
                    logf.flush()
                    self.log(f"step {self.step}: {last} ({time.time() - t0:.0f} s)")
                if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                    self.save()
        finally:
            logf.close()
        return last

    def export(self, path: str | Path, extra: dict[str, Any] | None = None) -> str:
        """Ship the EMA encoder+generator as float16 safetensors + JSON config; returns the model id."""
        cfg = asdict(self.cfg)
        record = {"quant_mode": self.cfg.quant_mode, "trained_steps": self.step,
                  "training": {k: v for k, v in cfg.items() if k not in ("width", "F", "L", "norm")}, **(extra or {})}
        return export_model(self.ema, path, record)
