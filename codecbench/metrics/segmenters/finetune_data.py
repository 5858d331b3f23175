"""Training data for fine-tuning a segmenter on decoded images: the train/validation split of CamVid train,
ESPNet's class weights, and the deterministic stream of random crops each optimisation step reads.

Conventions: images RGB uint8 H×W×3, labels uint8 H×W (CamVid class ids 0–10, void 11). The validation frames
are every ``val_every``-th frame of the split in list order (frames 0, k, 2k, ...; the shared CamVid copy has no
val split); the rest train. Class weights follow ESPNet's authors (their ``LoadData.compute_class_weights``, the
ENet scheme with their normalisation value 1.10): ``w_c = 1 / ln(1.10 + p_c)`` with p_c the fraction of non-void
training pixels of class c. Batches: the training pool is read as a stream of seeded permutations (permutation k
from ``default_rng([seed, k])``), step s takes stream items s·B … s·B+B−1, and every item gets a random crop and
horizontal flip from ``default_rng([seed, s, j])``: a step's batch depends only on (seed, step), so a resumed
run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ESPNET_NORM_VALUE = 1.10  # ESPNet's LoadData(normVal=1.10); ENet's paper used 1.02


@dataclass(frozen=True)
class Sample:
    """One training or validation frame: pixels (original or reconstruction), label, where it came from."""

    image: np.ndarray
    label: np.ndarray
    image_id: str
    source: str  # "orig" or the codec id of the reconstruction
    pixel_hash: str


def split(refs: Sequence[Any], val_every: int) -> tuple[list[Any], list[Any]]:
    """(train, val): every val_every-th ref in order (0, k, 2k, ...) validates, the rest train."""
    if val_every < 2:
        raise ValueError(f"val_every must be ≥ 2 (1 would leave nothing to train on), got {val_every}")
    refs = list(refs)
    val = refs[::val_every]
    train = [r for i, r in enumerate(refs) if i % val_every]
    if not train or not val:
        raise ValueError(f"{len(refs)} frame(s) with val_every={val_every} leave an empty train or val split")
    return train, val


def class_weights(labels: Sequence[np.ndarray], num_classes: int, ignore_index: int | None,
                  norm_value: float = ESPNET_NORM_VALUE, outputs: int | None = None) -> np.ndarray:
    """ENet/ESPNet class weights 1/ln(norm_value + p_c) over the classes 0..num_classes-1 (float32).

    p_c is the share of class c among the pixels that are not ignore_index. outputs: length of the returned
    vector (the network's number of outputs, e.g. 12 with ESPNet's void output); extra entries (the ignored
    void output) get weight 0, which cross-entropy never reads since those pixels are ignored.
    """
    hist = np.zeros(num_classes, dtype=np.float64)
    for lab in labels:
        counts = np.bincount(np.asarray(lab, dtype=np.int64).ravel(), minlength=max(num_classes, 256))
        hist += counts[:num_classes]
    if hist.sum() == 0:
        raise ValueError("the training labels hold no pixel of any class")
    p = hist / hist.sum()
    w = np.zeros(outputs or num_classes, dtype=np.float32)
    w[:num_classes] = 1.0 / np.log(norm_value + p)
    return w


def data_hash(samples: Sequence[Sample], extra: dict[str, Any]) -> str:
    """SHA-256 (hex) of the training samples' pixel hashes and sources, in order, plus the given settings."""
    h = hashlib.sha256()
    for s in samples:
        h.update(f"{s.image_id}|{s.source}|{s.pixel_hash}\n".encode())
    h.update(repr(sorted(extra.items())).encode())
    return h.hexdigest()


def stream_indices(pool: int, seed: int, step: int, batch: int) -> list[int]:
    """Pool indices of the batch read at ``step`` (0-based) from the stream of seeded permutations."""
    out = []
    for pos in range(step * batch, (step + 1) * batch):
        k, i = divmod(pos, pool)
        out.append(int(np.random.default_rng([seed, k]).permutation(pool)[i]))
    return out


def make_batch(samples: Sequence[Sample], seed: int, step: int, batch: int, crop: int | None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(images N×h×w×3 uint8, labels N×h×w int64) of one step: random crops (crop × crop, None = full frame;
    frames smaller than the crop are an error) and random horizontal flips."""
    images, labels = [], []
    for j, idx in enumerate(stream_indices(len(samples), seed, step, batch)):
        s = samples[idx]
        rng = np.random.default_rng([seed, step, j])
        img, lab = s.image, s.label
        if crop:
            h, w = lab.shape
            if crop > h or crop > w:
                raise ValueError(f"crop {crop} is larger than frame {s.image_id} ({w}×{h})")
            y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
            img, lab = img[y:y + crop, x:x + crop], lab[y:y + crop, x:x + crop]
        if rng.random() < 0.5:
            img, lab = img[:, ::-1], lab[:, ::-1]
        images.append(np.ascontiguousarray(img))
        labels.append(np.ascontiguousarray(lab))
    return np.stack(images), np.stack(labels).astype(np.int64)
