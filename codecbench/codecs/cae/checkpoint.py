"""CAE checkpoints: safetensors tensors (network and PCA buffers) plus a JSON config; loading runs no code.

``NAME.safetensors`` holds the float32 weights; ``NAME.json`` holds ``format``, ``width``, ``K``, ``lambda``,
``model_id`` (:func:`~codecbench.codecs.tensor_id.weights_id` of the stored tensors) and the training record
(data, steps, wall time, hardware, validation curve). Shipped checkpoints live in this package's
``checkpoints/`` folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecbench.errors import CodecbenchError

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = "cae_l2"
FORMAT = "codecbench-cae"


class CheckpointError(CodecbenchError, ValueError):
    """A CAE checkpoint is missing or malformed; the message names the file."""


def shipped_names() -> list[str]:
    """Names of the CAE checkpoints shipped with the package (no torch import)."""
    return sorted(p.stem for p in CHECKPOINT_DIR.glob("*.safetensors") if p.with_suffix(".json").exists())


def resolve(checkpoint: str | Path) -> Path:
    """The .safetensors path of a shipped name or a user path (with or without the suffix)."""
    p = Path(checkpoint)
    for c in (p, p.with_suffix(".safetensors"), CHECKPOINT_DIR / f"{checkpoint}.safetensors"):
        if c.suffix == ".safetensors" and c.is_file():
            return c
    raise CheckpointError(f"CAE checkpoint {str(checkpoint)!r} not found (shipped: "
                          f"{', '.join(shipped_names()) or 'none'}; or a path to a .safetensors with its .json)")


@dataclass
class LoadedCAE:
    """A CAE in eval mode on the CPU with its identity and config."""

    model: Any
    config: dict[str, Any]
    model_id: str
    path: Path


def export(model, path: str | Path, record: dict[str, Any]) -> str:
    """Write the weights and the JSON config (with ``record``, the training provenance); returns the model id."""
    from safetensors.torch import save_file

    from ..tensor_id import weights_id

    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in model.state_dict().items()}
    mid = weights_id(tensors)
    cfg = {"format": FORMAT, "width": model.width, "K": model.K, "model_id": mid, **record}
    save_file(tensors, str(path), metadata={"format": FORMAT, "model_id": mid})
    path.with_suffix(".json").write_text(json.dumps(cfg, indent=1) + "\n")
    return mid


def load(checkpoint: str | Path) -> LoadedCAE:
    """Load a shipped name or a path into an eval-mode float32 CAE (raises CheckpointError naming the file)."""
    from ..tensor_id import load_checked, read_config_beside
    from .model import CAE

    path = resolve(checkpoint)
    cfg = read_config_beside(path, FORMAT, ("width", "K"), CheckpointError)
    tensors, mid = load_checked(path, cfg, CheckpointError)
    model = CAE(cfg["width"], cfg["K"])
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit width={cfg['width']} K={cfg['K']} ({exc})") from None
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedCAE(model, cfg, mid, path)
