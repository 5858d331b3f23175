"""The CAE network (after Cheng et al., PCS 2018 / CVPRW 2018): one 5×5 stride-2 convolution per downsampling
step and a paired 5×5 stride-2 transposed convolution per upsampling step, PReLU between them.

Input and output: RGB float N×3×H×W on [0, 1] (H, W multiples of 8). The latent y has K channels at 1/8 of each
side. Training adds uniform noise U(-½, ½) to y (a differentiable stand-in for rounding) and penalises λ·mean(y²)
(the paper's rate proxy). The PCA buffers (``pca_mean`` K, ``pca_rot`` K×K, columns = eigenvectors by falling
variance) are fitted after training and rotate y into decorrelated channels before quantization.
"""

from __future__ import annotations

import torch
from torch import nn

STRIDE = 8  # total downsampling of the latent (three stride-2 steps)


def _down(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=2, padding=2)


def _up(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class CAE(nn.Module):
    """Encoder 3 → width → width → K (three stride-2 5×5 convs), decoder mirrored with transposed convs."""

    pca_mean: torch.Tensor  # registered buffers
    pca_rot: torch.Tensor

    def __init__(self, width: int = 64, K: int = 32):
        super().__init__()
        self.width, self.K = int(width), int(K)
        w = self.width
        self.encoder = nn.Sequential(_down(3, w), nn.PReLU(w), _down(w, w), nn.PReLU(w), _down(w, self.K))
        self.decoder = nn.Sequential(_up(self.K, w), nn.PReLU(w), _up(w, w), nn.PReLU(w), _up(w, 3))
        self.register_buffer("pca_mean", torch.zeros(self.K))
        self.register_buffer("pca_rot", torch.eye(self.K))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] N×3×H×W → latent y N×K×H/8×W/8 (centred on ½ grey)."""
        return self.encoder(x - 0.5)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """Latent y → RGB N×3×H×W, unclamped (clamp to [0, 1] for an image)."""
        return self.decoder(y) + 0.5

    def rotate(self, y: torch.Tensor) -> torch.Tensor:
        """PCA coefficients z = Rᵀ(y − μ) per latent pixel (N×K×h×w)."""
        return torch.einsum("nkhw,kj->njhw", y - self.pca_mean[None, :, None, None], self.pca_rot)

    def unrotate(self, z: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`rotate` (R is orthonormal): y = R z + μ."""
        return torch.einsum("njhw,kj->nkhw", z, self.pca_rot) + self.pca_mean[None, :, None, None]

    def forward(self, x: torch.Tensor, noise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, latent y): training pass with uniform noise on y, or hard rounding with noise=False."""
        y = self.encode(x)
        yq = y + torch.empty_like(y).uniform_(-0.5, 0.5) if noise else torch.round(y)
        return self.decode(yq), y


@torch.no_grad()
def fit_pca(model: CAE, latents: torch.Tensor) -> None:
    """Fit the PCA buffers from latent samples (M×K): mean and eigenvectors of the covariance, by falling
    variance, each sign fixed so its largest component is positive (deterministic)."""
    y = latents.double()
    mean = y.mean(0)
    cov = (y - mean).T @ (y - mean) / max(1, y.shape[0] - 1)
    evals, evecs = torch.linalg.eigh(cov)
    order = torch.argsort(evals, descending=True)
    evecs = evecs[:, order]
    sign = torch.sign(evecs[evecs.abs().argmax(0), torch.arange(evecs.shape[1])])
    evecs = evecs * torch.where(sign == 0, torch.ones_like(sign), sign)
    model.pca_mean.copy_(mean.float())
    model.pca_rot.copy_(evecs.float())
