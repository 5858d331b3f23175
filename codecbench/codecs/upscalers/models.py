"""The learned upscalers' networks. Both refine an image already resized (bicubic) to the output size.

Conventions: tensors N×C×H×W float32 in [0, 1]; colour conversion is full-range BT.601 YCbCr (the JPEG/JFIF
matrix) with Cb/Cr centred on 0.5. Convolutions pad by replication so the output has the input's size.

- :class:`SRCNN` (Dong et al. 2014, the 9-1-5 network with 64/32 filters): three convolutions on the luma channel
  only, as in the paper; chroma is left bicubic.
- :class:`ResCNN`: a light residual network on RGB (5 convolutions 3×3, 32 filters, PReLU) that predicts the
  correction to the bicubic image, so it starts from the identity and learns to undo blur and coding artefacts.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

_RGB2YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCC2RGB = torch.tensor([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]])
_OFFSET = torch.tensor([0.0, 0.5, 0.5]).view(1, 3, 1, 1)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """N×3×H×W RGB in [0, 1] -> YCbCr (full-range BT.601, chroma offset 0.5)."""
    return torch.einsum("ij,njhw->nihw", _RGB2YCC.to(x), x) + _OFFSET.to(x)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr`."""
    return torch.einsum("ij,njhw->nihw", _YCC2RGB.to(x), x - _OFFSET.to(x))


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2, padding_mode="replicate")


class SRCNN(nn.Module):
    """9-1-5 SRCNN on Y: conv9×9(1→64) ReLU, conv1×1(64→32) ReLU, conv5×5(32→1); output Y replaces the input's."""

    def __init__(self, n1: int = 64, n2: int = 32):
        super().__init__()
        self.body = nn.Sequential(_conv(1, n1, 9), nn.ReLU(inplace=True), _conv(n1, n2, 1), nn.ReLU(inplace=True),
                                  _conv(n2, 1, 5))
        nn.init.zeros_(cast(torch.Tensor, self.body[-1].weight))  # start as the identity (bicubic)
        nn.init.zeros_(cast(torch.Tensor, self.body[-1].bias))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        ycc = rgb_to_ycbcr(rgb)
        y = ycc[:, :1]
        y = y + self.body(y)  # residual on Y: the same function class as the paper's, easier to train briefly
        return ycbcr_to_rgb(torch.cat([y, ycc[:, 1:]], dim=1))


class ResCNN(nn.Module):
    """Residual RGB refiner: conv3×3(3→w) PReLU, (depth-2)× [conv3×3(w→w) PReLU], conv3×3(w→3); out = in + that."""

    def __init__(self, width: int = 32, depth: int = 5):
        super().__init__()
        layers: list[nn.Module] = [_conv(3, width, 3), nn.PReLU(width)]
        for _ in range(depth - 2):
            layers += [_conv(width, width, 3), nn.PReLU(width)]
        layers.append(_conv(width, 3, 3))
        self.body = nn.Sequential(*layers)
        nn.init.zeros_(cast(torch.Tensor, self.body[-1].weight))
        nn.init.zeros_(cast(torch.Tensor, self.body[-1].bias))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb + self.body(rgb)


ARCHITECTURES = {"srcnn": SRCNN, "rescnn": ResCNN}
