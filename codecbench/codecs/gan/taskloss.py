"""Optional task-aware training term for the GAN codec (beyond the paper; never its method).

``SegmenterConsistency`` keeps a frozen segmenter's output on the reconstruction close to its output on the
original: the mean over pixels of KL(softmax(s(x)) || softmax(s(x̂))) over ESPNet's 12 outputs (nats per pixel).
A checkpoint trained with it is scored later by the same ESPNet, so every table showing it must say so (its
config records ``seg_weight``). Input convention as ESPNet's: images on [-1, 1] RGB become BGR
``(v - mean) / std / 255`` on v in 0–255. The segmenter is a training-time dependency only: this module is
imported lazily by the trainer when ``seg_weight > 0``, so the codec itself never imports a metric.
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import nn


class SegmenterConsistency(nn.Module):
    """Frozen ESPNet; ``forward(x, y)`` with x, y N×3×H×W on [-1, 1] (H, W multiples of 8) -> scalar KL."""

    mean: torch.Tensor  # registered buffers
    std: torch.Tensor

    def __init__(self, weights: str | None = None, device: torch.device | str = "cpu"):
        super().__init__()
        from codecbench.metrics.segmenters.espnet import BGR_MEAN, BGR_STD, load_network

        self.net = load_network(weights).to(device).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        mean = torch.tensor(BGR_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(BGR_STD, dtype=torch.float32).view(1, 3, 1, 1)
        self.register_buffer("mean", mean.to(device))
        self.register_buffer("std", std.to(device))

    def _input(self, t: torch.Tensor) -> torch.Tensor:
        v = (t.float() + 1.0) * 127.5
        return (v.flip(1) - self.mean) / self.std / 255.0

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = nnf.log_softmax(self.net(self._input(x)).float(), dim=1)
        pred = nnf.log_softmax(self.net(self._input(y)).float(), dim=1)
        return nnf.kl_div(pred, target, log_target=True, reduction="none").sum(1).mean()
