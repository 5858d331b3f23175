"""Image-level encode/decode of the CAE codec: RGB uint8 H×W×3 ⇄ bitstream bytes through a loaded CAE.

Pixels map to [0, 1] as x/255. Images are replicate-padded bottom/right to multiples of 8 and cropped back after
decoding. Symbols: q = round(Rᵀ(y − μ) / step) clipped to ±127; decoding computes y = R·(q·step) + μ.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf

from ..spec import CodecError
from . import bitstream
from .model import CAE


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 H×W×3 → float32 1×3×H×W on [0, 1], replicate-padded to multiples of 8."""
    x = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1)[None].float() / 255.0
    h, w = image.shape[:2]
    ph, pw = bitstream.padded_side(h) - h, bitstream.padded_side(w) - w
    return nnf.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def to_image(x: torch.Tensor, height: int, width: int) -> np.ndarray:
    """float 1×3×H×W on [0, 1] → RGB uint8 height×width×3 (cropped, rounded, clipped)."""
    y = (x[0, :, :height, :width].clamp(0, 1) * 255.0).round()
    return y.to(torch.uint8).permute(1, 2, 0).numpy()


@torch.no_grad()
def symbols_of(model: CAE, image: np.ndarray, step: float) -> np.ndarray:
    """Quantized PCA coefficients (int64 K×h×w, |q| ≤ 127) of an RGB uint8 image."""
    z = model.rotate(model.encode(to_tensor(image)))
    if not torch.isfinite(z).all():
        raise CodecError("CAE encoder produced non-finite latent values (broken checkpoint weights?)")
    q = torch.round(z / step).clamp(-bitstream.MAX_SYMBOL, bitstream.MAX_SYMBOL)
    return q[0].to(torch.int64).numpy()


@torch.no_grad()
def reconstruct(model: CAE, symbols: np.ndarray, step: float, height: int, width: int) -> np.ndarray:
    """Decoder output for symbols K×h×w at the given quantizer step, as RGB uint8 height×width×3."""
    z = torch.from_numpy(np.asarray(symbols, dtype=np.float32))[None] * step
    return to_image(model.decode(model.unrotate(z)), height, width)


def encode(model: CAE, model_id: str, image: np.ndarray, step: float) -> bytes:
    """RGB uint8 H×W×3 → bitstream bytes (step: the quantizer step in latent units; 1 = as trained)."""
    h, w = image.shape[:2]
    step = float(np.float16(step))
    sym = symbols_of(model, image, step)
    return bitstream.write(sym, model_id=bytes.fromhex(model_id[:8]), width=w, height=h, step=step)


def decode(model: CAE, model_id: str, data: bytes) -> np.ndarray:
    """Bitstream bytes → RGB uint8 H×W×3 (raises bitstream.BitstreamError on a bad stream)."""
    head, sym = bitstream.read(data, model_id=bytes.fromhex(model_id[:8]), K=model.K)
    return reconstruct(model, sym, head.step, head.height, head.width)
