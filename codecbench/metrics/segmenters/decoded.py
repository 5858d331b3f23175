"""Decoded training images for fine-tuning a segmenter: each image goes through a codec by the normal path
(``codecs.registry`` + ``codecs.ratecontrol.match_bpp``) once, and its reconstruction is cached on disk.

Cache layout: ``<cache>/<codec id>/<image hash>@<target>.png`` (lossless RGB) with a ``.json`` sidecar holding the
achieved bpp, knob and reachability. The codec id is a hash of the codec's whole ``describe()`` (name, version,
fixed settings, and details such as the GAN checkpoint's model id), so a re-trained checkpoint or a new codec
version never reuses stale reconstructions. ``target`` is the requested bpp (``repr``) or ``fixed`` for a
fixed-rate codec (GAN). Files are written atomically (temporary file + rename); the default cache folder is
``$CODECBENCH_CACHE/decoded`` (else ``~/.cache/codecbench/decoded``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np


@dataclass(frozen=True)
class Decoded:
    """One cached reconstruction: RGB uint8 H×W×3 pixels, achieved bpp (of the original's pixels), knob."""

    image: np.ndarray
    bpp: float
    knob: Any
    reachable: bool
    cached: bool  # True when read from the cache, False when encoded now


def default_cache_dir() -> Path:
    """Decoded training frames live under codecbench's cache folder (:func:`codecbench.paths.cache_dir`)."""
    from codecbench.paths import cache_dir

    return cache_dir() / "decoded"


def codec_identity(codec) -> tuple[str, dict[str, Any]]:
    """(short id, description) of a bound codec: the id hashes its full describe() as canonical JSON."""
    desc = codec.describe()
    blob = json.dumps(desc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16], desc


def target_name(target_bpp: float | None) -> str:
    return "fixed" if target_bpp is None else repr(float(target_bpp))


def _write_atomic(path: Path, data: bytes) -> None:
    from codecbench.atomicio import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


class DecodedCache:
    """Reconstructions of images by one codec at one target, cached under ``root``.

    codec: a bound codec (``codecs.registry.create(name, **settings)``); target_bpp None for a fixed-rate codec.
    mode: rate-control mode of match_bpp ("below": the largest stream not above the target).
    """

    def __init__(self, codec, target_bpp: float | None, root: str | os.PathLike | None = None,
                 mode: str = "below"):
        if codec.knob is not None and target_bpp is None:
            raise ValueError(f"codec {codec.name!r} has a rate knob: give a target bpp")
        self.codec = codec
        self.target_bpp = None if codec.knob is None else float(cast(float, target_bpp))
        self.mode = mode
        self.codec_id, self.description = codec_identity(codec)
        self.folder = Path(root) if root is not None else default_cache_dir()
        self.folder = self.folder / self.codec_id

    def paths(self, image_hash: str) -> tuple[Path, Path]:
        stem = f"{image_hash}@{target_name(self.target_bpp)}"
        return self.folder / f"{stem}.png", self.folder / f"{stem}.json"

    def get(self, image_hash: str, load) -> Decoded:
        """The reconstruction of the image with this content hash; load() gives its RGB uint8 pixels when the
        cache misses. A cached file that cannot be read is an error naming the file (delete it to recompute)."""
        from codecbench.imageio import load_rgb

        png, meta = self.paths(image_hash)
        if png.is_file() and meta.is_file():
            try:
                info = json.loads(meta.read_text(encoding="utf-8"))
                image = load_rgb(png)
            except (OSError, ValueError) as exc:
                raise ValueError(f"{png}: unreadable cached reconstruction ({exc}); delete it to recompute") from None
            return Decoded(image, float(info["bpp"]), info.get("knob"), bool(info.get("reachable", True)), True)
        return self._make(image_hash, load(), png, meta)

    def _make(self, image_hash: str, image: np.ndarray, png: Path, meta: Path) -> Decoded:
        from PIL import Image

        from codecbench.codecs.ratecontrol import match_bpp

        rr = match_bpp(self.codec, image, self.target_bpp, mode=self.mode)
        decoded = self.codec.decode(rr.data)
        if decoded.shape != image.shape:
            raise ValueError(f"codec {self.codec.name!r} decoded {decoded.shape}, original is {image.shape}")
        buf = io.BytesIO()
        Image.fromarray(decoded).save(buf, format="PNG")
        _write_atomic(png, buf.getvalue())
        knob = rr.knob.item() if isinstance(rr.knob, np.generic) else rr.knob
        info = {"image_hash": image_hash, "codec": self.description, "target": target_name(self.target_bpp),
                "mode": self.mode, "bpp": rr.bpp, "bytes": len(rr.data), "knob": knob,
                "reachable": bool(rr.reachable), "encodes": rr.encodes}
        _write_atomic(meta, json.dumps(info, sort_keys=True, default=str).encode())
        return Decoded(decoded, float(rr.bpp), knob, bool(rr.reachable), False)

    def fill(self, refs: Iterable[Any], progress: bool = False) -> list[Decoded]:
        """Reconstructions of every ImageRef (computed where missing), in order."""
        from tqdm import tqdm

        from codecbench.datasets import load_image

        refs = list(refs)
        out = []
        with tqdm(refs, unit="img", desc=f"decode {self.codec.name}@{target_name(self.target_bpp)}",
                  disable=True if not progress else None) as bar:
            for ref in bar:
                out.append(self.get(ref.hash, lambda ref=ref: load_image(ref)))
        return out
