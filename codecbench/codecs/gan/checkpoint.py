"""Checkpoints: safetensors tensors plus a JSON config beside them; loading never executes code.

Shipped checkpoint (``NAME.safetensors`` + ``NAME.json``): the EMA encoder and generator weights
(keys ``encoder.*``, ``generator.*``, stored as float16 to keep files small, computed in float32) and a config
with ``format``, ``width``, ``F``, ``L``, ``quant_mode``, ``centres``, ``model_id`` and the training record.
The model id is the first 16 hex digits of SHA-256 over the stored tensors (name, dtype, shape, bytes in key order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from ..tensor_id import load_checked, read_config_beside, weights_id
from .locate import (  # noqa: F401 (re-exported: callers import them from here)
    CHECKPOINT_DIR,
    DEFAULT_CHECKPOINT,
    CheckpointError,
    resolve,
    shipped_names,
)
from .model import Autoencoder
from .quantizer import centres

FORMAT = "codecbench-gan"
FORMAT_VERSION = 1


def read_config(path: Path) -> dict[str, Any]:
    return read_config_beside(path, FORMAT, ("width", "F", "L"), CheckpointError)


@dataclass
class LoadedModel:
    """A loaded autoencoder in eval mode with its identity."""

    model: Autoencoder
    config: dict[str, Any]
    model_id: str
    path: Path

    @property
    def F(self) -> int:
        return self.model.F

    @property
    def L(self) -> int:
        return self.model.L


def export_model(model: Autoencoder, path: str | Path, config: dict[str, Any], dtype=torch.float16) -> str:
    """Write the encoder+generator weights (as dtype) and the JSON config; returns the model id."""
    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().to(dtype).contiguous() for k, v in model.state_dict().items()}
    mid = weights_id(tensors)
    cfg = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "width": model.width,
        "F": model.F,
        "L": model.L,
        "norm": model.norm,
        "centres": [round(float(c), 6) for c in centres(model.L)],
        "nominal_bpp": model.F * torch.log2(torch.tensor(float(model.L))).item() / 256.0,
        "model_id": mid,
        "dtype": str(dtype).replace("torch.", ""),
        **{k: v for k, v in config.items() if k not in ("format", "width", "F", "L", "norm", "model_id")},
    }
    save_file(tensors, str(path), metadata={"format": FORMAT, "model_id": mid})
    path.with_suffix(".json").write_text(json.dumps(cfg, indent=2) + "\n")
    return mid


def load_model(checkpoint: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a shipped name or path into an eval-mode float32 Autoencoder on device."""
    path = resolve(checkpoint)
    cfg = read_config(path)
    tensors, mid = load_checked(path, cfg, CheckpointError)
    model = Autoencoder(cfg["width"], cfg["F"], cfg["L"], cfg.get("norm", "instance"))
    try:
        model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit width={cfg['width']} F={cfg['F']} L={cfg['L']} ({exc})") from None
    model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedModel(model, cfg, mid, path)


def load_matching(module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    """Copy tensors whose names and shapes match into module (warm start); returns (loaded, skipped) names."""
    own = module.state_dict()
    loaded, skipped = [], []
    with torch.no_grad():
        for k, v in tensors.items():
            if k in own and own[k].shape == v.shape:
                own[k].copy_(v.to(own[k].dtype))
                loaded.append(k)
            else:
                skipped.append(k)
    return loaded, skipped
