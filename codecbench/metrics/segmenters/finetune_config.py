"""What a fine-tune of ESPNet trains (:class:`FinetuneConfig`), the checks of a config, and the fine-tune's error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codecbench.errors import CodecbenchError

MODES = ("recon", "mixed", "orig")


class FinetuneError(CodecbenchError, RuntimeError):
    """A fine-tune cannot start or resume; the message names the file or the setting at fault."""


@dataclass(frozen=True)
class FinetuneConfig:
    """What to train. codec None only with mode "orig"; target_bpp None for a fixed-rate codec (GAN)."""

    mode: str = "recon"
    codec: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    target_bpp: float | None = None
    base_weights: str | None = None  # None: the shared published CamVid weights
    split: str = "train"
    limit: int | None = None  # first N frames of the split only (tests, quick runs)
    val_every: int = 10
    epochs: int = 4
    batch: int = 8
    crop: int | None = 240  # random crop side (pixels); None = full 480×360 frames
    lr: float = 3e-5
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 1
    val_steps: int | None = None  # validate (and save the resumable state) every N steps; None = every epoch
    bn: str = "train"  # "train": batch statistics, running statistics adapt; "frozen": running statistics kept


def _check(cfg: FinetuneConfig) -> None:
    if cfg.mode not in MODES:
        raise FinetuneError(f"mode must be one of {', '.join(MODES)}, got {cfg.mode!r}")
    if cfg.mode != "orig" and not cfg.codec:
        raise FinetuneError(f"mode {cfg.mode!r} needs a codec (--codec)")
    if cfg.val_steps is not None and cfg.val_steps < 1:
        raise FinetuneError(f"val_steps must be ≥ 1, got {cfg.val_steps}")
    for name in ("epochs", "batch", "threads"):
        if getattr(cfg, name) < 1:
            raise FinetuneError(f"{name} must be ≥ 1, got {getattr(cfg, name)}")
    if cfg.bn not in ("frozen", "train"):
        raise FinetuneError(f"bn must be 'frozen' or 'train', got {cfg.bn!r}")
    if cfg.crop is not None and (cfg.crop < 8 or cfg.crop % 8):
        raise FinetuneError(f"crop must be a multiple of 8 (ESPNet's stride), got {cfg.crop}")

