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
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from codecbench.device import resolve_device

from ..tensor_id import weights_id
from . import codec
from .batches import ImageBank, load_images
from .checkpoint import export_model, load_matching, resolve
from .config import TrainConfig
from .losses import _gan_losses, gan_ramp_weight
from .model import Autoencoder, MultiScaleDiscriminator
from .quantizer import MODES


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
        self.bank = ImageBank(self.train_images)
        self.channels_last = cfg.channels_last or self.device.type == "cuda"
        if self.channels_last:
            # Module.to's stub lacks memory_format
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            self.disc.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.model_fwd = torch.compile(self.model) if cfg.compile else self.model
        self.disc_fwd = torch.compile(self.disc) if cfg.compile else self.disc
        self.task = None
        self._ema_pairs: tuple[list, list, list] | None = None
        self.wall_s = 0.0  # training wall time over all sessions of this run (s)
        if cfg.seg_weight > 0:
            from .taskloss import SegmenterConsistency

            self.task = SegmenterConsistency(cfg.seg_weights, self.device)
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
        meta = {"step": self.step, "config": asdict(self.cfg), "param_groups": groups, "wall_s": self.wall_now()}
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
        self.wall_s = float(meta.get("wall_s", 0.0))
        self.log(f"resumed {self.run_dir} at step {self.step}")

    # --- training ----------------------------------------------------------------------------------------------
    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        x = self.bank.crops(self.gen, cfg.crop, cfg.batch, self.channels_last).to(self.device, non_blocking=True)
        use_gan = self.step >= cfg.gan_start
        lr = cfg.lr if use_gan or cfg.warmup_lr is None else cfg.warmup_lr
        for group in self.opt_g.param_groups:
            group["lr"] = lr
        self.model.train()
        with self._autocast():
            y = self.model_fwd(x, mode=cfg.quant_mode)
            mse = ((y.float() - x) ** 2).mean()
        out = {"mse": float(mse.detach())}
        task = torch.zeros((), device=self.device)
        if self.task is not None:
            with self._autocast():
                task = self.task(x, y)
            out["task"] = float(task.detach())
        if use_gan:
            self.disc.train()
            with self._autocast():
                if cfg.fuse_d:  # one pass over [real; fake]: exact, D normalises each sample on its own
                    both = self.disc_fwd(torch.cat([x, y.detach()]))
                    n = x.shape[0]
                    d_real = [[t[:n] for t in scale] for scale in both]
                    d_fake_det = [[t[n:] for t in scale] for scale in both]
                else:
                    d_real = self.disc_fwd(x)
                    d_fake_det = self.disc_fwd(y.detach())
                d_loss = sum(((r[-1].float() - 1) ** 2).mean() + (f[-1].float() ** 2).mean()
                             for r, f in zip(d_real, d_fake_det)) / len(d_real)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            with self._autocast():
                d_fake = self.disc_fwd(y)
                adv, fm = _gan_losses(d_fake, [[a.detach() for a in r] for r in d_real], cfg.fm_weight)
            ramp = gan_ramp_weight(self.step, cfg.gan_start, cfg.gan_ramp)
            g_loss = (ramp * (adv.float() + cfg.fm_weight * fm.float()) + cfg.mse_weight * mse
                      + cfg.seg_weight * task)
            out.update(d=float(d_loss.detach()), adv=float(adv.detach()), fm=float(fm.detach()))
            if ramp < 1.0:
                out["ramp"] = ramp
        else:
            g_loss = cfg.mse_weight * mse + cfg.seg_weight * task
        if not torch.isfinite(g_loss):
            raise FloatingPointError(
                f"training diverged at step {self.step}: non-finite loss; resume from the last saved state "
                f"with a lower --lr/--warmup-lr"
            )
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        self._update_ema(min(cfg.ema_decay, (1 + self.step) / (10 + self.step)))
        out["g"] = float(g_loss.detach())
        return out

    def _update_ema(self, decay: float) -> None:
        """ema = decay·ema + (1 − decay)·model, one fused update over all float tensors."""
        with torch.no_grad():
            if self._ema_pairs is None:
                pairs = list(zip(self.ema.state_dict().values(), self.model.state_dict().values()))
                self._ema_pairs = ([e for e, _ in pairs if e.is_floating_point()],
                                   [m for e, m in pairs if e.is_floating_point()],
                                   [(e, m) for e, m in pairs if not e.is_floating_point()])
            ema_f, model_f, others = self._ema_pairs
            torch._foreach_lerp_(ema_f, model_f, 1 - decay)
            for pe, pm in others:
                pe.copy_(pm)

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

    def wall_now(self) -> float:
        """Training wall time (s) over all sessions of this run, up to now."""
        t0: float | None = getattr(self, "_t0", None)
        return self.wall_s + (time.time() - t0 if t0 else 0.0)

    def run(self) -> dict[str, float]:
        cfg = self.cfg
        logf = (self.run_dir / "log.jsonl").open("a")
        t0, last = time.time(), {}
        self._t0: float | None = t0
        try:
            while self.step < cfg.steps:
                if cfg.max_minutes and time.time() - t0 > 60 * cfg.max_minutes:
                    self.save()
                    self.log(f"stopped at step {self.step} after --max-minutes {cfg.max_minutes:g} (resumable)")
                    break
                rec = self.train_step()
                if self.step % 50 == 0 or self.step == cfg.steps:
                    rec.update(step=self.step, elapsed_s=round(time.time() - t0, 1), wall_s=round(self.wall_now(), 1))
                    logf.write(json.dumps(rec) + "\n")
                    logf.flush()
                if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                    last = self.validate()
                    logf.write(json.dumps({"step": self.step, **last}) + "\n")
                    logf.flush()
                    self.log(f"step {self.step}: {last} ({time.time() - t0:.0f} s)")
                if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                    self.save()
                if cfg.snapshot_every and self.step % cfg.snapshot_every == 0:
                    self.export(self.run_dir / "snapshots" / f"step_{self.step:06d}",
                                {"wall_s": round(self.wall_now(), 1), "run_dir": str(self.run_dir)})
        finally:
            logf.close()
            self.wall_s, self._t0 = self.wall_now(), None
        return last

    def export(self, path: str | Path, extra: dict[str, Any] | None = None) -> str:
        """Ship the EMA encoder+generator as float16 safetensors + JSON config; returns the model id."""
        import platform

        cfg = asdict(self.cfg)
        hardware = {"device": str(self.device), "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
        if self.device.type == "cuda":
            hardware["gpu"] = torch.cuda.get_device_name(self.device)
        record = {"quant_mode": self.cfg.quant_mode, "trained_steps": self.step,
                  "wall_s": round(self.wall_now(), 1), "hardware": hardware,
                  "data": {"source": self.cfg.source, "split": self.cfg.split, "train_images": len(self.train_images),
                           "validation_images": [i for i, _ in self.val_images]},
                  "training": {k: v for k, v in cfg.items() if k not in ("width", "F", "L", "norm")}, **(extra or {})}
        return export_model(self.ema, path, record)
