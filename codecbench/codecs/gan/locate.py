"""Where GAN checkpoints are: the shipped ones inside the package and paths given by the user (no torch here, so
that listing codecs stays light). :mod:`codecbench.codecs.gan.checkpoint` re-exports these names."""

from __future__ import annotations

from pathlib import Path

from codecbench.errors import CodecbenchError

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = "gan_f8_l4"


class CheckpointError(CodecbenchError, ValueError):
    """A checkpoint is missing or malformed; the message names the file."""


def shipped_names() -> list[str]:
    """Names of the checkpoints shipped with the package."""
    return sorted(p.stem for p in CHECKPOINT_DIR.glob("*.safetensors") if p.with_suffix(".json").exists())


def resolve(checkpoint: str | Path) -> Path:
    """Path of a checkpoint's .safetensors file from a shipped name or a path (with or without suffix)."""
    p = Path(checkpoint)
    candidates = [p, p.with_suffix(".safetensors"), CHECKPOINT_DIR / f"{checkpoint}.safetensors"]
    for c in candidates:
        if c.suffix == ".safetensors" and c.is_file():
            return c
    raise CheckpointError(
        f"GAN checkpoint {str(checkpoint)!r} not found (shipped: {', '.join(shipped_names()) or 'none'}; "
        f"or give a path to a .safetensors file with its .json beside it)"
    )
