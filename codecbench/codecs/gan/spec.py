"""The ``gan`` codec: a trained GAN autoencoder checkpoint as a CodecSpec.

Settings: ``checkpoint`` (a shipped name such as ``gan_f8_l4``, or a path to a .safetensors file with its .json)
and ``device`` ("auto" = CUDA when present, else CPU; "cpu"; "cuda"). The checkpoint's F and L fix the rate
(knob None): the latent bound is F·log2(L)/256 bpp on sides padded to multiples of 16; the real bpp counts every
byte of the stream (header, frequency tables, payload) over the original pixels. Bitstreams decode only with the
model that made them (the model id is in the header).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec import CodecError, CodecSpec, Settings
from . import bitstream
from .locate import DEFAULT_CHECKPOINT  # .locate, not .checkpoint: listing codecs must not import torch
from .locate import shipped_names as _shipped


def _unavailable(s: Settings) -> str | None:
    from .locate import CheckpointError, resolve

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
    from codecbench.device import device_name

    from .checkpoint import CheckpointError, load_model

    device = s["device"] if s["device"] != "auto" else device_name("auto")
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
    return f"bitstream v{bitstream.VERSION}"


def _provenance(s: Settings) -> dict[str, Any]:
    import torch

    return {"checkpoint_path": str(s["loaded"].path), "torch": torch.__version__}


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
    keyless=("checkpoint", "device"),  # the model id (in details) is keyed instead; the device is recorded
    provenance=_provenance,
)
