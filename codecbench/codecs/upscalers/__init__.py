"""Resampling for the ``sr`` codec: classical filters (Pillow) and learned upscalers shipped as safetensors.

Images are RGB uint8 H×W×3; sizes are (height, width) in pixels. Downscaling filters: ``lanczos``, ``area``
(box average). Upscalers: ``bicubic``, ``lanczos`` and the learned ``srcnn`` and ``rescnn``, which refine the
bicubic upscale (see :mod:`.models`). A learned upscaler is ``NAME.safetensors`` + ``NAME.json`` (architecture,
provenance) in this folder; loading never executes code. Upscaler ids (one byte in the ``sr`` header) never change
meaning: append new ones.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from codecbench.errors import CodecbenchError

DOWN_FILTERS = ("lanczos", "area")
UPSCALER_IDS = {"bicubic": 0, "lanczos": 1, "srcnn": 2, "rescnn": 3}
LEARNED = ("srcnn", "rescnn")
CHECKPOINT_DIR = Path(__file__).resolve().parent
FORMAT = "codecbench-upscaler"

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


class UpscalerError(CodecbenchError, ValueError):
    """A learned upscaler's checkpoint is missing or malformed; the message names the file."""


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(h, w) of an image of height×width resampled by scale: each side rounded, at least 1."""
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def _pil_filter(name: str):
    from PIL import Image

    return {"lanczos": Image.Resampling.LANCZOS, "area": Image.Resampling.BOX,
            "bicubic": Image.Resampling.BICUBIC}[name]


def resize(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """Resize RGB uint8 H×W×3 to size=(h, w) with a classical filter (lanczos, area, bicubic)."""
    from PIL import Image

    h, w = size
    if image.shape[:2] == (h, w):
        return image
    out = Image.fromarray(image, mode="RGB").resize((w, h), _pil_filter(method))
    return np.ascontiguousarray(np.asarray(out, dtype=np.uint8))


def checkpoint_path(name: str) -> Path:
    return CHECKPOINT_DIR / f"{name}.safetensors"


def available(name: str) -> str | None:
    """None when the upscaler can run here, else the reason."""
    if name not in UPSCALER_IDS:
        return f"unknown upscaler {name!r}; known: {', '.join(UPSCALER_IDS)}"
    if name in LEARNED:
        p = checkpoint_path(name)
        if not p.is_file() or not p.with_suffix(".json").is_file():
            return (f"learned upscaler {name!r} has no checkpoint at {p} (+ .json); train it with "
                    f"`python -m codecbench.codecs.upscalers.train {name}`")
    return None


def load(name: str):
    """(torch module in eval mode, config dict with 'weights_id') of a shipped learned upscaler; cached."""
    with _lock:
        if name in _loaded:
            return _loaded[name]
    reason = available(name)
    if reason or name not in LEARNED:
        raise UpscalerError(reason or f"upscaler {name!r} is not a learned one")
    from safetensors.torch import load_file

    from .models import ARCHITECTURES

    path = checkpoint_path(name)
    try:
        config = json.loads(path.with_suffix(".json").read_text())
        tensors = load_file(str(path))
        arch = ARCHITECTURES[config["architecture"]]
        model = arch(**config.get("arch_args", {}))
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
    except Exception as exc:
        raise UpscalerError(f"{path}: cannot load upscaler {name!r} ({type(exc).__name__}: {exc})") from None
    if config.get("format") != FORMAT:
        raise UpscalerError(f"{path.with_suffix('.json')}: format {config.get('format')!r}, expected {FORMAT!r}")
    model.eval()
    config = {**config, "weights_id": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}
    with _lock:
        _loaded.setdefault(name, (model, config))
        return _loaded[name]


def weights_id(name: str) -> str | None:
    """First 16 hex digits of the SHA-256 of a learned upscaler's safetensors file (None for classical ones)."""
    if name not in LEARNED:
        return None
    return load(name)[1]["weights_id"]


def refine(model, image: np.ndarray) -> np.ndarray:
    """Run a learned refiner on an RGB uint8 H×W×3 image (already at the output size) -> RGB uint8."""
    import torch

    with torch.inference_mode():
        x = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float().div_(255.0)
        y = model(x).clamp_(0.0, 1.0).mul_(255.0).round_()
    return np.ascontiguousarray(y[0].permute(1, 2, 0).to(torch.uint8).numpy())


def upscale(image: np.ndarray, size: tuple[int, int], name: str) -> np.ndarray:
    """Upscale RGB uint8 to size=(h, w) with a classical filter or a learned upscaler (bicubic, then refined)."""
    if name in ("bicubic", "lanczos"):
        return resize(image, size, name)
    model, _config = load(name)
    return refine(model, resize(image, size, "bicubic"))
