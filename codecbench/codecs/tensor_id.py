"""The identity of a learned codec's weights: a hash over its tensors, the model id that point keys carry."""

from __future__ import annotations

import hashlib

import torch


def weights_id(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 (first 16 hex digits) of tensors in key order: name, dtype, shape and raw bytes."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]
