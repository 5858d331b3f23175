"""A learned codec's weight files: the hash over its tensors (the model id that point keys carry) and the JSON
config beside a ``.safetensors`` file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch


def weights_id(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 (first 16 hex digits) of tensors in key order: name, dtype, shape and raw bytes."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def read_config_beside(path: Path, fmt: str, keys: tuple[str, ...], error: type[Exception]) -> dict[str, Any]:
    """The JSON config beside a weights file (same stem, ``.json``); raises ``error`` naming the file when it is
    missing, not JSON, not of format ``fmt``, or lacks one of ``keys``."""
    cfg_path = path.with_suffix(".json")
    try:
        cfg = json.loads(cfg_path.read_text())
    except FileNotFoundError:
        raise error(f"{cfg_path}: config missing beside {path.name}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{cfg_path}: not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != fmt:
        got = cfg.get("format") if isinstance(cfg, dict) else type(cfg).__name__
        raise error(f"{cfg_path}: not a {fmt} config (format={got!r})")
    for key in keys:
        if key not in cfg:
            raise error(f"{cfg_path}: missing {key!r}")
    return cfg


def load_checked(path: Path, cfg: dict[str, Any], error: type[Exception]) -> tuple[dict[str, torch.Tensor], str]:
    """(tensors, model id) of a safetensors file (no code runs); raises ``error`` naming the file when it cannot be
    read or its hash differs from the config's ``model_id``."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise error(f"{path}: cannot read safetensors ({exc})") from None
    mid = weights_id(tensors)
    if cfg.get("model_id") and cfg["model_id"] != mid:
        raise error(f"{path}: weights hash {mid} does not match the config's model_id {cfg['model_id']}")
    return tensors, mid
