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
