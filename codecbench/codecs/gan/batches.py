"""Training batches for the GAN codec: images decoded once, random crops with horizontal flips.

Images are held as RGB uint8: one N×H×W×3 tensor when every image has the same size (CamVid: 360×480), a list of
H×W×3 tensors otherwise. A batch is B×3×crop×crop float32 on [-1, 1]. The random draws (image, y, x, flip per
sample, from one ``torch.Generator``) are the same sequence as the earlier per-sample numpy implementation, so a
run resumed across the change continues with the same batches; the float conversion happens once per batch on the
stacked uint8 crops (no per-sample float copies).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as nnf


def load_images(source: str, split: str | None, limit: int | None = None) -> tuple[list[str], list[np.ndarray]]:
    """Image ids and RGB uint8 arrays of a dataset name or a folder (via codecbench.datasets)."""
    from codecbench.datasets import load_dataset, load_image

    if Path(source).is_dir():
        ds = load_dataset("folder", root=source, limit=limit)
    else:
        ds = load_dataset(source, split=split if source in ("camvid", "cityscapes") else None, limit=limit)
    if not ds.images:
        raise ValueError(f"training source {source!r} (split {split}) has no images")
    return [r.id for r in ds.images], [load_image(r) for r in ds.images]


def _draw(gen: torch.Generator, n: int, shape_of, crop: int) -> tuple[int, int, int, int, int, bool]:
    """One sample's random draws, in the order both implementations make them: image i, then the crop window
    (y, x, height, width) inside it, then a horizontal flip."""
    i = int(torch.randint(n, (1,), generator=gen))
    h, w = shape_of(i)
    ch, cw = min(crop, h), min(crop, w)
    y = int(torch.randint(h - ch + 1, (1,), generator=gen))
    x = int(torch.randint(w - cw + 1, (1,), generator=gen))
    return i, y, x, ch, cw, bool(torch.randint(2, (1,), generator=gen))


class ImageBank:
    """Training images as uint8 tensors; ``crops`` draws a batch."""

    def __init__(self, images: list[np.ndarray]):
        if not images:
            raise ValueError("no training images")
        shapes = {im.shape for im in images}
        self.stacked: torch.Tensor | None = None
        self.items: list[torch.Tensor] = []
        if len(shapes) == 1:
            self.stacked = torch.from_numpy(np.stack(images))
        else:
            self.items = [torch.from_numpy(np.array(im, copy=True)) for im in images]
        self.n = len(images)

    def _image(self, i: int) -> torch.Tensor:
        return self.stacked[i] if self.stacked is not None else self.items[i]

    def crops(self, gen: torch.Generator, crop: int, batch: int, channels_last: bool = False) -> torch.Tensor:
        """B×3×crop×crop float32 on [-1, 1]; images smaller than crop are edge-replicated (right, bottom)."""
        patches = []
        for _ in range(batch):
            i, y, x, ch, cw, flip = _draw(gen, self.n, lambda k: self._image(k).shape[:2], crop)
            patch = self._image(i)[y : y + ch, x : x + cw]
            if flip:
                patch = patch.flip(1)
            if (ch, cw) != (crop, crop):
                p = patch.permute(2, 0, 1)[None].float()
                patch = nnf.pad(p, (0, crop - cw, 0, crop - ch), mode="replicate")[0].permute(1, 2, 0).to(torch.uint8)
            patches.append(patch)
        hwc = torch.stack(patches)  # B×crop×crop×3 uint8
        out = hwc.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        if channels_last:
            return out.contiguous(memory_format=torch.channels_last)
        return out.contiguous()


def crop_batch_reference(images: list[np.ndarray], gen: torch.Generator, crop: int, batch: int) -> torch.Tensor:
    """The earlier per-sample implementation (numpy crop, float per sample); kept for the throughput benchmark and
    for the test that ``ImageBank.crops`` draws the same batches."""
    out = []
    for _ in range(batch):
        i, y, x, ch, cw, flip = _draw(gen, len(images), lambda k: images[k].shape[:2], crop)
        patch = images[i][y : y + ch, x : x + cw]
        if flip:
            patch = patch[:, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1).float() / 127.5 - 1.0
        if (ch, cw) != (crop, crop):
            t = nnf.pad(t[None], (0, crop - cw, 0, crop - ch), mode="replicate")[0]
        out.append(t)
    return torch.stack(out)
