"""Scalar quantizer of the latent: L fixed centres evenly spaced on [-2, 2].

Centres: ``linspace(-2, 2, L)`` (L = 5 gives GC's {-2, -1, 0, 1, 2}; L = 2 gives {-2, 2}). They are fixed, not
learned, so a checkpoint's F and L determine them; they are still written into each checkpoint's config for
reference. Training (mode "ste"): forward pass uses the hard nearest centre, the gradient flows through the soft
assignment ``softmax(-sigma·|r - c|)`` (straight-through). Mode "none" trains without quantization (identity in
training) and quantizes only at inference, the paper's other mode.
"""

from __future__ import annotations

import torch

VALID_F = (2, 4, 8, 16)
VALID_L = (2, 4, 5, 8, 16, 32, 64)
MODES = ("ste", "none")


def centres(L: int) -> torch.Tensor:
    """The L centres, float32, ascending, evenly spaced on [-2, 2]."""
    if not 2 <= int(L) <= 256:
        raise ValueError(f"L must be in 2..256, got {L}")
    return torch.linspace(-2.0, 2.0, int(L), dtype=torch.float32)


def indices(latent: torch.Tensor, L: int) -> torch.Tensor:
    """Nearest-centre index (int64, 0..L-1) of every latent value (ties go to the lower centre)."""
    c = centres(L).to(latent.device, torch.float32)
    step = (c[1] - c[0]).item()
    idx = torch.round((latent.float() - c[0]) / step)
    return idx.clamp_(0, int(L) - 1).long()


def dequantize(idx: torch.Tensor, L: int, dtype=torch.float32) -> torch.Tensor:
    """Centre values of symbol indices."""
    return centres(L).to(idx.device)[idx].to(dtype)


def hard(latent: torch.Tensor, L: int) -> torch.Tensor:
    """Hard quantization: each value replaced by its nearest centre (no gradient)."""
    return dequantize(indices(latent, L), L, latent.dtype)


def quantize(latent: torch.Tensor, L: int, *, mode: str = "ste", training: bool = True, sigma: float = 1.0):
    """Quantize for training or inference.

    mode "ste": hard values forward, gradient of softmax(-sigma·|r-c|)·c backward.
    mode "none": identity while training; hard at inference (training=False).
    """
    if mode not in MODES:
        raise ValueError(f"quantization mode must be one of {MODES}, got {mode!r}")
    if not training:
        return hard(latent, L)
    if mode == "none":
        return latent
    c = centres(L).to(latent.device, latent.dtype)
    dist = (latent.unsqueeze(-1) - c).abs()
    soft = (torch.softmax(-sigma * dist, dim=-1) * c).sum(-1)
    return soft + (hard(latent, L) - soft).detach()
