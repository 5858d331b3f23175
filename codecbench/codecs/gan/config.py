"""The configuration of a GAN codec training run, importable without torch (``codecbench --help`` reads its
defaults). :mod:`codecbench.codecs.gan.train` re-exports it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Everything that defines a training run (recorded in state.json and in exported checkpoints)."""

    source: str = "camvid"  # dataset name for codecbench.datasets, or a folder of images
    split: str | None = "train"
    width: float = 0.125
    F: int = 8
    L: int = 4
    norm: str = "instance"  # "instance" (paper) or "none" in E and G
    quant_mode: str = "ste"  # "ste" (quantize in training) or "none" (quantize at inference only)
    steps: int = 10000
    gan_start: int = 6000  # steps of pure-MSE warm-up before the GAN losses
    gan_ramp: int = 0  # steps over which G's adversarial + feature-matching weight rises from 0 to 1 (0 = at once)
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
    channels_last: bool = False  # NHWC activations (always on for CUDA)
    compile: bool = False  # torch.compile the encoder+generator and D forward passes
    fuse_d: bool = True  # D step scores real and fake crops in one batch (exact: D's norms are per sample)
    snapshot_every: int = 0  # export the EMA weights to run/snapshots/ every N steps (learning curves); 0 = never
    seg_weight: float = 0.0  # task-aware term (beyond the paper): KL of a frozen ESPNet's outputs, original || recon
    seg_weights: str | None = None  # ESPNet weights for that term (default: the shared CamVid weights)
    max_minutes: float = 0.0  # stop (state saved, resumable) after this much wall time in this call; 0 = no limit
    command: str = ""
