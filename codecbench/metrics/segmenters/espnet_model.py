"""The ESPNet network (p=2, q=8; ESP modules, HFF, input reinforcement, light decoder), named as its state dict."""

from __future__ import annotations

import torch
from torch import nn

NUM_OUTPUTS = 12  # 11 classes + void (index 11)
BN_EPS = 1e-3


# --- building blocks (names match the published state dict) -------------------------------------------------

class CBR(nn.Module):
    """Conv (no bias, 'same' padding) → BatchNorm → PReLU."""

    def __init__(self, n_in: int, n_out: int, k: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(n_in, n_out, k, stride=stride, padding=(k - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(n_out, eps=BN_EPS)
        self.act = nn.PReLU(n_out)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class BR(nn.Module):
    """BatchNorm → PReLU."""

    def __init__(self, n: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(n, eps=BN_EPS)
        self.act = nn.PReLU(n)

    def forward(self, x):
        return self.act(self.bn(x))


class C(nn.Module):
    """Conv without bias, 'same' padding (optionally dilated)."""

    def __init__(self, n_in: int, n_out: int, k: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        pad = (k - 1) // 2 * dilation
        self.conv = nn.Conv2d(n_in, n_out, k, stride=stride, padding=pad, dilation=dilation, bias=False)

    def forward(self, x):
        return self.conv(x)


def _split(n_out: int) -> tuple[int, int]:
    """Channels per dilated branch: four branches of n = n_out // 5, the d=1 branch takes the rest."""
    n = n_out // 5
    return n, n_out - 4 * n


class _ESPBase(nn.Module):
    """Reduce (c1), split into five parallel 3×3 convs with dilation 1, 2, 4, 8, 16, and merge with HFF:
    the d2…d16 outputs are summed cumulatively before concatenating [d1, d2, d2+d4, d2+d4+d8, …+d16]."""

    def _branches(self, n_in: int, n_out: int, k_reduce: int, stride: int):
        n, n1 = _split(n_out)
        self.c1 = C(n_in, n, k_reduce, stride)
        self.d1 = C(n, n1, 3, 1, 1)
        self.d2 = C(n, n, 3, 1, 2)
        self.d4 = C(n, n, 3, 1, 4)
        self.d8 = C(n, n, 3, 1, 8)
        self.d16 = C(n, n, 3, 1, 16)

    def _merge(self, x):
        r = self.c1(x)
        add1 = self.d2(r)
        add2 = add1 + self.d4(r)
        add3 = add2 + self.d8(r)
        add4 = add3 + self.d16(r)
        return torch.cat([self.d1(r), add1, add2, add3, add4], 1)


class DownSamplerESP(_ESPBase):
    """Strided ESP module (3×3 stride-2 reduction), then BatchNorm → PReLU; halves the resolution."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self._branches(n_in, n_out, 3, 2)
        self.bn = nn.BatchNorm2d(n_out, eps=BN_EPS)
        self.act = nn.PReLU(n_out)

    def forward(self, x):
        return self.act(self.bn(self._merge(x)))


class ResidualESP(_ESPBase):
    """ESP module (1×1 reduction); adds the input when ``add`` (n_in == n_out), then BR."""

    def __init__(self, n_in: int, n_out: int, add: bool = True):
        super().__init__()
        self._branches(n_in, n_out, 1, 1)
        self.bn = BR(n_out)
        self.add = add

    def forward(self, x):
        y = self._merge(x)
        if self.add:
            y = x + y
        return self.bn(y)


class InputProjection(nn.Module):
    """The input image average-pooled (3×3, stride 2, padding 1) ``times`` times: input reinforcement."""

    def __init__(self, times: int):
        super().__init__()
        self.pool = nn.ModuleList([nn.AvgPool2d(3, stride=2, padding=1) for _ in range(times)])

    def forward(self, x):
        for pool in self.pool:
            x = pool(x)
        return x


class ESPNetC(nn.Module):
    """ESPNet-C encoder: 1/2 (16 conv + image), 1/4 (ESP×p), 1/8 (ESP×q); returns the three concatenated
    feature maps (19, 131 and 256 channels) and, for completeness, the 1/8 classifier output."""

    def __init__(self, classes: int, p: int, q: int):
        super().__init__()
        self.level1 = CBR(3, 16, 3, 2)
        self.sample1 = InputProjection(1)
        self.sample2 = InputProjection(2)
        self.b1 = BR(16 + 3)
        self.level2_0 = DownSamplerESP(16 + 3, 64)
        self.level2 = nn.ModuleList([ResidualESP(64, 64) for _ in range(p)])
        self.b2 = BR(128 + 3)
        self.level3_0 = DownSamplerESP(128 + 3, 128)
        self.level3 = nn.ModuleList([ResidualESP(128, 128) for _ in range(q)])
        self.b3 = BR(256)
        self.classifier = C(256, classes, 1, 1)

    def forward(self, x):
        inp1 = self.sample1(x)
        inp2 = self.sample2(x)
        l1 = self.b1(torch.cat([self.level1(x), inp1], 1))
        l2_0 = self.level2_0(l1)
        l2 = l2_0
        for layer in self.level2:
            l2 = layer(l2)
        l2 = self.b2(torch.cat([l2, l2_0, inp2], 1))
        l3_0 = self.level3_0(l2)
        l3 = l3_0
        for layer in self.level3:
            l3 = layer(l3)
        l3 = self.b3(torch.cat([l3_0, l3], 1))
        return l1, l2, l3


class ESPNet(nn.Module):
    """Encoder-decoder ESPNet: class scores at 1/8 are upsampled ×2, fused with a projection of the 1/4
    features through an ESP module, upsampled ×2, fused with the 19-channel 1/2 features (19 + C conv), and
    upsampled ×2 to full resolution. Input N×3×H×W normalised BGR with H, W multiples of 8; output N×C×H×W
    class scores."""

    def __init__(self, classes: int = NUM_OUTPUTS, p: int = 2, q: int = 8):
        super().__init__()
        self.encoder = ESPNetC(classes, p, q)
        self.level3_C = C(128 + 3, classes, 1, 1)
        self.br = nn.BatchNorm2d(classes, eps=BN_EPS)
        self.conv = CBR(19 + classes, classes, 3, 1)
        self.up_l3 = nn.Sequential(nn.ConvTranspose2d(classes, classes, 2, stride=2, bias=False))
        self.combine_l2_l3 = nn.Sequential(BR(2 * classes), ResidualESP(2 * classes, classes, add=False))
        self.up_l2 = nn.Sequential(nn.ConvTranspose2d(classes, classes, 2, stride=2, bias=False), BR(classes))
        self.classifier = nn.ConvTranspose2d(classes, classes, 2, stride=2, bias=False)

    def forward(self, x):
        l1, l2, l3 = self.encoder(x)
        s3 = self.up_l3(self.br(self.encoder.classifier(l3)))
        s2 = self.up_l2(self.combine_l2_l3(torch.cat([self.level3_C(l2), s3], 1)))
        return self.classifier(self.conv(torch.cat([s2, l1], 1)))

