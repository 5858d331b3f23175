"""A fine-tune's run folder: the resumable state, the folder lock, and the final weights with their provenance."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .finetune_config import FinetuneConfig, FinetuneError


def _save_state(folder: Path, net, opt, meta: dict[str, Any]) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        st = opt.state.get(p)
        if st:
            for k in ("exp_avg", "exp_avg_sq", "step"):
                t = st[k] if isinstance(st[k], torch.Tensor) else torch.tensor(float(st[k]))
                tensors[f"opt.{i}.{k}"] = t.detach().clone().contiguous()
    tmp = folder / "state.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, folder / "state.safetensors")
    (folder / "state.json.tmp").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(folder / "state.json.tmp", folder / "state.json")


def _load_state(folder: Path, net, opt) -> None:
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "state.safetensors"))
    net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    for i, p in enumerate(opt.param_groups[0]["params"]):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {"step": tensors[f"opt.{i}.step"].to(torch.float32),
                            "exp_avg": tensors[f"opt.{i}.exp_avg"], "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"]}


def hardware() -> dict[str, Any]:
    import torch

    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _lock(folder: Path):
    """An exclusive lock on the run folder (released when the returned file is closed): two processes never
    train into one folder."""
    import fcntl

    fh = open(folder / ".lock", "a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise FinetuneError(f"{folder}: another process is fine-tuning in this folder") from None
    return fh


def _finish(folder: Path, net, cfg: FinetuneConfig, base: Path, facts, meta, spe: int) -> dict[str, Any]:
    from safetensors.torch import save_file

    from .decoded import _write_atomic

    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(folder / "weights.safetensors.tmp"), metadata={"format": "espnet_p2_q8_camvid"})
    os.replace(folder / "weights.safetensors.tmp", folder / "weights.safetensors")
    prov = {
        "config": asdict(cfg), "base_weights": str(base), "base_weights_name": base.name,
        "codec_key": facts.get("codec_id"), "codec": facts.get("codec"), "target": facts.get("target"),
        "mode": cfg.mode, "steps": meta["step"], "steps_per_epoch": spe, "epochs": cfg.epochs,
        "data_hash": meta["data_hash"], "data": {k: v for k, v in facts.items() if k not in ("codec",)},
        "loss": "cross-entropy over 12 outputs, void (11) ignored, ESPNet class weights 1/ln(1.10 + p)",
        "validation_curve": meta["curve"], "train_loss_per_step": meta["losses"],
        "train_s": meta.get("train_s", 0.0),
        "s_per_epoch": meta.get("train_s", 0.0) * spe / max(1, meta["step"]),  # training only, validation excluded
        "cpu_s": meta["cpu_s"], "wall_s": meta["wall_s"], "hardware": hardware(),
        "weights": "weights.safetensors",
    }
    _write_atomic(folder / "provenance.json", json.dumps(prov, indent=1).encode())
    return prov
