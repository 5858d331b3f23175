"""Image-level encode/decode of the GAN codec: RGB uint8 H×W×3 ⇄ bitstream bytes, through a loaded model.

Pixels map to [-1, 1] as x/127.5 − 1 and back with round((y + 1)·127.5) clipped to 0..255. Images are padded by
replicating the last row/column up to the next multiple of 16 (at least 32) and cropped back after decoding.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf

from ..spec import CodecError
from . import bitstream
from .model import Autoencoder
from .quantizer import dequantize, indices


def to_tensor(image: np.ndarray, device="cpu") -> torch.Tensor:
    """RGB uint8 H×W×3 -> float32 1×3×H×W on [-1, 1]."""
    t = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).to(device).permute(2, 0, 1)[None]
    return t.float() / 127.5 - 1.0


def to_image(x: torch.Tensor) -> np.ndarray:
    """float 1×3×H×W on [-1, 1] -> RGB uint8 H×W×3."""
    y = ((x[0].float().clamp(-1, 1) + 1.0) * 127.5).round().clamp(0, 255)
    return y.to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def pad(x: torch.Tensor) -> torch.Tensor:
    """Replicate-pad N×3×H×W bottom/right to sides accepted by the network (bitstream.padded_side)."""
    h, w = x.shape[-2:]
    ph, pw = bitstream.padded_side(h) - h, bitstream.padded_side(w) - w
    return nnf.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


@torch.no_grad()
def symbols_of(model: Autoencoder, image: np.ndarray, device="cpu") -> np.ndarray:
    """Quantized latent symbols (int64 F×h×w, 0..L-1) of an RGB uint8 image."""
    x = pad(to_tensor(image, device))
    z = model.encoder(x)
    if not torch.isfinite(z).all():
        raise CodecError("GAN encoder produced non-finite latent values (broken checkpoint weights?)")
    return indices(z, model.L)[0].cpu().numpy()


@torch.no_grad()
def reconstruct_symbols(model: Autoencoder, symbols: np.ndarray, height: int, width: int, device="cpu") -> np.ndarray:
    """Generator output for symbols F×h×w, cropped to height×width, as RGB uint8."""
    w = dequantize(torch.from_numpy(np.asarray(symbols, dtype=np.int64)).to(device)[None], model.L)
    return to_image(model.generator(w)[..., :height, :width])


@torch.no_grad()
def forward_hard(model: Autoencoder, image: np.ndarray, device="cpu") -> np.ndarray:
    """The model's hard-quantized forward pass on an image (no bitstream), as RGB uint8 cropped back."""
    h, w = image.shape[:2]
    was = model.training
    model.eval()
    try:
        y = model(pad(to_tensor(image, device)))
    finally:
        model.train(was)
    return to_image(y[..., :h, :w])


def encode(model: Autoencoder, model_id: str, image: np.ndarray, device="cpu") -> bytes:
    """RGB uint8 H×W×3 -> bitstream bytes."""
    h, w = image.shape[:2]
    sym = symbols_of(model, image, device)
    return bitstream.write(sym, model_id=bytes.fromhex(model_id[:8]), width=w, height=h, L=model.L)


def decode(model: Autoencoder, model_id: str, data: bytes, device="cpu") -> np.ndarray:
    """Bitstream bytes -> RGB uint8 H×W×3 (raises bitstream.BitstreamError on a bad stream)."""
    head, sym = bitstream.read(data, model_id=bytes.fromhex(model_id[:8]), F=model.F, L=model.L)
    return reconstruct_symbols(model, sym, head.height, head.width, device)
