"""The ``gan`` codec: a trained GAN autoencoder checkpoint as a CodecSpec.

Settings: ``checkpoint`` (a shipped name such as ``gan_f8_l4``, or a path to a .safetensors file with its .json)
and ``device`` ("auto" = CUDA when present, else CPU; "cpu"; "cuda"). The checkpoint's F and L fix the rate
(knob None): the latent bound is F·log2(L)/256 bpp on sides padded to multiples of 16; the real bpp counts every
byte of the stream (header, frequency tables, payload) over the original pixels. Bitstreams decode only with the
model that made them (the model id is in the header).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..spec import CodecError, CodecSpec, Settings
from . import bitstream

# Kept here (not imported from .checkpoint) so that listing codecs does not import torch.
DEFAULT_CHECKPOINT = "gan_f8_l4"
_CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


def _shipped() -> list[str]:
    return sorted(p.stem for p in _CHECKPOINT_DIR.glob("*.safetensors") if p.with_suffix(".json").exists())


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _unavailable(s: Settings) -> str | None:
    from .checkpoint import CheckpointError, resolve

    try:
        resolve(s["checkpoint"])
    except CheckpointError as exc:
        return f"{exc}; train one with `codecbench gan train ... --export PATH`"
    if s["device"] not in ("auto", "cpu") and not str(s["device"]).startswith("cuda"):
        return f"device must be auto, cpu or cuda, got {s['device']!r}"
    if str(s["device"]).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return "device cuda requested but torch sees no CUDA device (use device='auto' or 'cpu')"
    return None


def _prepare(s: Settings) -> dict[str, Any]:
    from .checkpoint import CheckpointError, load_model

    device = _device(s["device"])
    try:
        loaded = load_model(s["checkpoint"], device)
    except CheckpointError as exc:
        raise CodecError(str(exc)) from None
    return {**s, "device": device, "loaded": loaded}


def _encode(image: np.ndarray, _knob: Any, s: Settings) -> bytes:
    from . import codec

    lm = s["loaded"]
    return codec.encode(lm.model, lm.model_id, image, s["device"])


def _decode(data: bytes, s: Settings) -> np.ndarray:
    from . import codec

    lm = s["loaded"]
    return codec.decode(lm.model, lm.model_id, data, s["device"])


def _details(s: Settings) -> dict[str, Any]:
    lm = s["loaded"]
    cfg = lm.config
    return {
        "model_id": lm.model_id,
        "checkpoint": lm.path.stem,
        "F": lm.F,
        "L": lm.L,
        "width": cfg["width"],
        "nominal_bpp": lm.F * float(np.log2(lm.L)) / 256.0,
        "quant_mode": cfg.get("quant_mode"),
        "trained_steps": cfg.get("trained_steps"),
        "device": s["device"],
        "bitstream_version": bitstream.VERSION,
    }


def _version() -> str:
    import torch

    return f"bitstream v{bitstream.VERSION}, torch {torch.__version__}"


GAN = CodecSpec(
    name="gan",
    summary=f"GAN autoencoder (Agustsson et al. 2019), fixed rate per checkpoint; shipped: "
    f"{', '.join(_shipped()) or 'none yet'}",
    library="codecbench.codecs.gan (PyTorch + constriction range coder)",
    version=_version,
    knob=None,
    encode=_encode,
    decode=_decode,
    defaults={"checkpoint": DEFAULT_CHECKPOINT, "device": "auto"},
    unavailable=_unavailable,
    prepare=_prepare,
    details=_details,
)
