"""Networks of the GAN codec: encoder E, generator G and the multi-scale PatchGAN discriminator D.

Layout follows Agustsson et al. 2019 (GC) with a width multiplier ``width`` that scales every channel count
(1.0 is the paper's network: 60, 120, 240, 480, 960). Images are N×3×H×W on [-1, 1]; H and W must be multiples
of 16; the latent is N×F×H/16×W/16. The encoder's last conv has no norm and no ReLU, so the quantizer sees
negative values too (every centre is usable).
"""

from __future__ import annotations

import torch
from torch import nn

BASE_CHANNELS = (60, 120, 240, 480, 960)
N_RESBLOCKS = 9


def channels(width: float) -> tuple[int, ...]:
    """Channel counts (c7 conv, then the four stride-2 stages) for a width multiplier; at least 1 each."""
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    return tuple(max(1, int(round(c * width))) for c in BASE_CHANNELS)


NORMS = ("instance", "none")


def _norm(c: int, kind: str = "instance") -> nn.Module:
    """Instance norm (the paper's choice), or none (an option for short CPU training: instance norm removes each
    image's per-channel mean, so global colour and brightness must be relearned as priors, which is slow)."""
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")
    return nn.InstanceNorm2d(c, affine=True) if kind == "instance" else nn.Identity()


class Encoder(nn.Module):
    """E: 7×7 conv, four 3×3 stride-2 convs (instance norm + ReLU each), 3×3 conv to F channels (no activation)."""

    def __init__(self, width: float, F: int, norm: str = "instance"):
        super().__init__()
        c = channels(width)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, c[0], 7), _norm(c[0], norm), nn.ReLU(True)]
        for cin, cout in zip(c[:-1], c[1:]):
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3, stride=2), _norm(cout, norm), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(c[-1], F, 3)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ResBlock(nn.Module):
    def __init__(self, c: int, norm: str = "instance"):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c, norm), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c, norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator(nn.Module):
    """G: 3×3 conv to 960·width, nine residual blocks, four stride-2 transposed convs, 7×7 conv to RGB + tanh."""

    def __init__(self, width: float, F: int, norm: str = "instance"):
        super().__init__()
        c = channels(width)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(F, c[-1], 3), _norm(c[-1], norm), nn.ReLU(True)]
        layers += [ResBlock(c[-1], norm) for _ in range(N_RESBLOCKS)]
        rev = c[::-1]
        for cin, cout in zip(rev[:-1], rev[1:]):
            layers += [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1), _norm(cout, norm),
                       nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c[0], 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.net(w)


class PatchDiscriminator(nn.Module):
    """One PatchGAN scale (pix2pixHD, 3 layers): returns the list of intermediate features, last = scores."""

    def __init__(self, width: float):
        super().__init__()
        c = [max(1, int(round(v * width))) for v in (64, 128, 256, 512)]
        k, p = 4, 2
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(3, c[0], k, 2, p), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(c[0], c[1], k, 2, p), nn.InstanceNorm2d(c[1]), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(c[1], c[2], k, 2, p), nn.InstanceNorm2d(c[2]), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(c[2], c[3], k, 1, p), nn.InstanceNorm2d(c[3]), nn.LeakyReLU(0.2, True)),
            nn.Conv2d(c[3], 1, k, 1, p),
        ])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class MultiScaleDiscriminator(nn.Module):
    """D: three PatchGAN scales on the image, ×1/2 and ×1/4 (3×3 average pooling, stride 2)."""

    def __init__(self, width: float, scales: int = 3):
        super().__init__()
        self.scales = nn.ModuleList([PatchDiscriminator(width) for _ in range(scales)])
        self.down = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        out = []
        for i, d in enumerate(self.scales):
            if i:
                x = self.down(x)
            out.append(d(x))
        return out


class Autoencoder(nn.Module):
    """E and G together, with the quantizer's F and L; the unit that is checkpointed and shipped."""

    def __init__(self, width: float, F: int, L: int, norm: str = "instance"):
        super().__init__()
        self.width, self.F, self.L, self.norm = float(width), int(F), int(L), norm
        self.encoder = Encoder(width, F, norm)
        self.generator = Generator(width, F, norm)

    def forward(self, x: torch.Tensor, *, mode: str = "ste") -> torch.Tensor:
        """Reconstruction of x (N×3×H×W on [-1, 1]) through the quantizer (training semantics follow self.training)."""
        from .quantizer import quantize

        return self.generator(quantize(self.encoder(x), self.L, mode=mode, training=self.training))
