"""The ``cae`` codec: a trained convolutional autoencoder checkpoint (Cheng et al. 2018) as a CodecSpec.

Settings: ``checkpoint`` (a shipped name such as ``cae_l2``, or a path to a .safetensors file with its .json).
Knob ``step``: the quantizer step of the PCA coefficients in latent units, 0.25–8 (float; 1 = the unit noise the
network was trained with; larger = fewer bytes). The checkpoint's λ sets the operating region (the paper's rate
curve is one checkpoint per λ at step 1); the step moves along it. bpp counts every byte of the stream over the
original pixels. Streams decode only with the model that made them (its id is in the header). CPU only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec import CodecError, CodecSpec, Knob, Settings
from . import bitstream
from .checkpoint import DEFAULT_CHECKPOINT, CheckpointError, resolve, shipped_names


def _unavailable(s: Settings) -> str | None:
    try:
        resolve(s["checkpoint"])
    except CheckpointError as exc:
        return f"{exc}; train one with `python -m codecbench.codecs.cae.train`"
    return None


def _prepare(s: Settings) -> dict[str, Any]:
    from .checkpoint import load

    try:
        return {**s, "loaded": load(s["checkpoint"])}
    except CheckpointError as exc:
        raise CodecError(str(exc)) from None


def _encode(image: np.ndarray, step: Any, s: Settings) -> bytes:
    from . import codec

    lm = s["loaded"]
    return codec.encode(lm.model, lm.model_id, image, float(step))


def _decode(data: bytes, s: Settings) -> np.ndarray:
    from . import codec

    lm = s["loaded"]
    return codec.decode(lm.model, lm.model_id, data)


def _details(s: Settings) -> dict[str, Any]:
    lm = s["loaded"]
    cfg = lm.config
    return {"model_id": lm.model_id, "checkpoint": lm.path.stem, "K": cfg["K"], "width": cfg["width"],
            "lambda": cfg.get("lambda"), "trained_steps": cfg.get("training", {}).get("steps"),
            "bitstream_version": bitstream.VERSION}


def _provenance(s: Settings) -> dict[str, Any]:
    import torch

    return {"checkpoint_path": str(s["loaded"].path), "torch": torch.__version__}


CAE = CodecSpec(
    name="cae",
    summary=f"convolutional autoencoder with PCA (Cheng et al. 2018); shipped: {', '.join(shipped_names()) or 'none'}",
    library="codecbench.codecs.cae (PyTorch + constriction range coder)",
    version=lambda: f"bitstream v{bitstream.VERSION}",
    knob=Knob("step", 0.25, 8.0, integer=False, increases_rate=False),
    encode=_encode,
    decode=_decode,
    defaults={"checkpoint": DEFAULT_CHECKPOINT},
    unavailable=_unavailable,
    prepare=_prepare,
    details=_details,
    keyless=("checkpoint",),  # the model id (in details) is keyed instead
    provenance=_provenance,
)
