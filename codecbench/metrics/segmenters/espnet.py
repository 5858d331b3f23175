"""ESPNet (Mehta et al., ECCV 2018) as a CamVid segmenter: our own implementation of the network plus its
published input convention (the network itself: :mod:`.espnet_model`).

Network: the encoder-decoder "ESPNet" built on ESPNet-C with p=2, q=8 (ESP modules with dilation rates
1, 2, 4, 8, 16 whose branch outputs are summed hierarchically (HFF) before concatenation, input reinforcement
with average-pooled copies of the image, and a light decoder of 2×2 transposed convolutions whose last fusion
conv takes 19 + C channels). Module and attribute names follow the published state dict, so the MIT-licensed
CamVid weights (``shared/weights/espnet_p2_q8_camvid.pth``) load with ``load_state_dict(strict=True)``.

Input convention (as its authors trained it): RGB uint8 is reordered to BGR and each channel becomes
``(x - mean) / std / 255`` on 0–255 values with BGR mean [110.331, 108.409, 105.033] and std
[72.126, 72.691, 69.904]. Native size 480×360. Output: 12 channels (11 CamVid classes + void at index 11);
the prediction is the argmax over all 12, so a pixel may be answered "void" (11, the ignore index); scored
with :func:`codecbench.metrics.segmenters.registry.confusion` that counts as a miss for the true class, which is
how the published class-average accuracy (68.30 % on the CamVid test split) comes out. Option
``predict_void=False`` takes the argmax over the 11 classes only.

Other sizes: the network halves the resolution three times and its decoder doubles it back, so both sides must
be multiples of 8. Images are run at their native size; when a side is not a multiple of 8 the image is padded
on the bottom/right by edge replication up to the next multiple of 8 and the prediction is cropped back.
Nothing is resized (option ``size`` resizes the input to W×H instead and brings the class scores back with
bilinear interpolation before the argmax).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from codecbench.errors import BadInput

from .espnet_model import NUM_OUTPUTS, ESPNet
from .registry import SegmenterError, check_images, resolve_device

WEIGHTS_NAME = "espnet_p2_q8_camvid.pth"
CAMVID_CLASSES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
    "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
)
VOID_INDEX = 11
BGR_MEAN = (110.331, 108.409, 105.033)
BGR_STD = (72.126, 72.691, 69.904)
NATIVE_SIZE = (480, 360)  # width, height
STRIDE = 8  # both sides must be multiples of this


# --- weights ------------------------------------------------------------------------------------------------

def default_weights() -> Path:
    """The shared CamVid weights (through codecbench.paths; may not exist)."""
    from codecbench.paths import shared_path

    return shared_path("weights", WEIGHTS_NAME)


def load_network(weights: str | os.PathLike | None = None) -> ESPNet:
    """Build ESPNet (p=2, q=8, 12 outputs) and load a state dict strictly, without executing code: a ``.pth``
    through ``torch.load(weights_only=True)``, a ``.safetensors`` file through safetensors (never unpickled).

    Old PyTorch saved no ``num_batches_tracked``; those buffers (unused in eval mode) are filled with 0 for
    every BatchNorm whose other tensors are present, so strict loading still checks every real tensor.
    Raises SegmenterError naming the path when the file is missing, unreadable or does not fit the network.
    """
    path = Path(weights) if weights is not None else default_weights()
    if not path.is_file():
        raise SegmenterError(
            f"ESPNet weights not found at {path}: pass weights=PATH (--weights) or set CODECBENCH_SHARED "
            f"to the folder holding weights/{WEIGHTS_NAME}"
        )
    try:
        if path.suffix == ".safetensors":  # e.g. a fine-tuned network (codecbench segment finetune)
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise SegmenterError(f"{path}: cannot read ESPNet weights ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SegmenterError(f"{path}: not a state dict of tensors")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = ESPNet()
    for key in net.state_dict():
        if key.endswith(".num_batches_tracked") and key not in state:
            prefix = key[: -len("num_batches_tracked")]
            if prefix + "running_mean" in state:
                state[key] = torch.zeros((), dtype=torch.long)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise SegmenterError(f"{path}: weights do not fit ESPNet p=2 q=8 with 12 outputs: {exc}") from None
    flush_subnormals(net)
    return net.eval()


def flush_subnormals(net: torch.nn.Module) -> int:
    """Set every subnormal float parameter and buffer (0 < |w| < the dtype's smallest normal, 1.18e-38 for float32)
    to 0 in place; return how many.

    The published CamVid weights hold about 10 600 of them (dead channels decayed towards zero). x86 CPUs take a
    slow microcode path for every multiply with a subnormal operand, which made ESPNet 5× slower on the CPU; their
    contribution to any score is below 1e-35, so the class scores come out bit-identical (checked on CamVid test
    frames by tests/test_espnet_subnormals.py)."""
    n = 0
    with torch.no_grad():
        for t in list(net.parameters()) + list(net.buffers()):
            if t.is_floating_point():
                tiny = torch.finfo(t.dtype).tiny
                sub = (t != 0) & (t.abs() < tiny)
                n += int(sub.sum())
                t[sub] = 0
    return n


# --- the segmenter ------------------------------------------------------------------------------------------

def preprocess(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB uint8 N×H×W×3 → float32 N×3×H×W in the published convention: BGR, (x - mean) / std / 255."""
    arr = np.ascontiguousarray(images)
    if not arr.flags.writeable:  # torch warns on read-only arrays (e.g. decoded images); copy once
        arr = arr.copy()
    x = torch.from_numpy(arr).to(device)
    x = x.flip(-1).permute(0, 3, 1, 2).float()  # RGB → BGR, N×3×H×W, 0–255
    mean = torch.tensor(BGR_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(BGR_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std / 255.0


class ESPNetSegmenter:
    """CamVid segmenter: ``predict(N×H×W×3 uint8 RGB) -> N×H×W int64`` class ids 0–10, or 11 (void).

    Options: ``weights`` (path; default the shared file), ``device`` ("auto" = CUDA when present, else CPU),
    ``batch_size`` (images per forward pass), ``size`` ((W, H) to resize to, default None = native size
    padded to multiples of 8), ``predict_void`` (default True: argmax over all 12 outputs, as published).
    """

    name = "espnet"
    num_classes = len(CAMVID_CLASSES)
    ignore_index = VOID_INDEX
    class_names = CAMVID_CLASSES

    def __init__(self, weights: str | os.PathLike | None = None, device: str = "auto", batch_size: int = 8,
                 size: Sequence[int] | None = None, predict_void: bool = True):
        if int(batch_size) < 1:
            raise BadInput(f"batch_size must be ≥ 1, got {batch_size}")
        if size is not None:
            size = (int(size[0]), int(size[1]))
            if size[0] % STRIDE or size[1] % STRIDE or min(size) <= 0:
                raise BadInput(f"size must be positive multiples of {STRIDE} (W, H), got {size}")
        self.weights = Path(weights) if weights is not None else default_weights()
        self.device = resolve_device(device)
        self.batch_size = int(batch_size)
        self.size = size
        self.predict_void = bool(predict_void)
        # channels-last runs these thin convolutions faster on the CPU (same results up to float rounding)
        self.net = load_network(self.weights).to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        import hashlib

        self.weights_sha256 = hashlib.sha256(self.weights.read_bytes()).hexdigest()[:16]

    def describe(self) -> dict:
        """Facts that identify this segmenter's output (JSON-serialisable)."""
        return {"name": self.name, "weights": self.weights.name, "weights_sha256": self.weights_sha256,
                "device": str(self.device),
                "size": list(self.size) if self.size else "native (padded to multiples of 8)",
                "predict_void": self.predict_void}

    @torch.inference_mode()
    def scores(self, images: np.ndarray) -> torch.Tensor:
        """Class scores N×12×H×W (float32, on the segmenter's device) for one batch of RGB uint8 N×H×W×3."""
        check_images(images)
        h, w = images.shape[1:3]
        x = preprocess(images, self.device).contiguous(memory_format=torch.channels_last)
        if self.size is not None:
            x = F.interpolate(x, size=(self.size[1], self.size[0]), mode="bilinear", align_corners=False)
            return F.interpolate(self.net(x), size=(h, w), mode="bilinear", align_corners=False)
        ph, pw = -h % STRIDE, -w % STRIDE
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return self.net(x)[:, :, :h, :w]

    @torch.inference_mode()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """Label maps N×H×W int64 for RGB uint8 N×H×W×3: class ids 0–10, or 11 where void scores highest
        (only with predict_void), computed in batches of ``batch_size``."""
        check_images(images)
        out = np.empty(images.shape[:3], dtype=np.int64)
        keep = NUM_OUTPUTS if self.predict_void else self.num_classes
        for start in range(0, len(images), self.batch_size):
            s = self.scores(images[start:start + self.batch_size])
            out[start:start + len(s)] = s[:, :keep].argmax(1).cpu().numpy()
        return out
