"""The generator's GAN losses in training: LSGAN and feature matching over the discriminator's scales."""

from __future__ import annotations

import torch
import torch.nn.functional as nnf


def _gan_losses(d_fake: list[list[torch.Tensor]], d_real: list[list[torch.Tensor]] | None, fm_weight: float):
    """Generator LSGAN loss and feature-matching loss (pix2pixHD weighting) over all scales."""
    adv = sum(((f[-1] - 1) ** 2).mean() for f in d_fake) / len(d_fake)
    fm = torch.zeros((), device=d_fake[0][-1].device)
    if d_real is not None and fm_weight:
        n_layers = len(d_fake[0]) - 1
        for fs, rs in zip(d_fake, d_real):
            for a, b in zip(fs[:-1], rs[:-1]):
                fm = fm + nnf.l1_loss(a, b.detach()) * (4.0 / n_layers) / len(d_fake)
    return adv, fm


def gan_ramp_weight(step: int, gan_start: int, ramp: int) -> float:
    """Weight in (0, 1] of G's adversarial + feature-matching terms at optimiser step ``step`` (0-based) of the GAN
    phase: rises linearly over ``ramp`` steps from ``gan_start`` (1/ramp at the first GAN step), 1 after; 1 when
    ``ramp`` is 0. A ramp softens the jump in G's gradient scale when the GAN losses switch on: Adam's
    second-moment estimate (β2 0.999) takes about a thousand steps to follow such a jump, and until it does the
    steps are larger than the learning rate."""
    if ramp <= 0:
        return 1.0
    return min(1.0, (step - gan_start + 1) / ramp)
