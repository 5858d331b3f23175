"""Loading images as RGB uint8 H×W×3, and their content hash.

Conversion rules (documented in README):
- RGB: as is. Grayscale (L, 1-bit) and palette images: expanded to RGB.
- 16-bit images (I;16, 48-bit RGB): scaled to 8 bits with round(v * 255 / 65535).
- Alpha (RGBA, LA, PA): dropped when fully opaque; otherwise refused, since codecs here code RGB only
  and compositing would change what is measured.
- Anything unreadable (truncated, not an image) raises ImageLoadError naming the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


class ImageLoadError(ValueError):
    """An input image could not be read or converted; the message names the file and the problem."""


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 H×W×3 following the module's conversion rules."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            return to_rgb(im, path)
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not a recognised image file") from None
    except ImageLoadError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"{path}: cannot decode image ({exc})") from None


def to_rgb(im, path: str | Path = "<image>") -> np.ndarray:
    """Convert a PIL image to RGB uint8 H×W×3 (see module rules)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        if mode == "I" and arr.max(initial=0) <= 255:
            arr8 = arr.astype(np.uint8)
        else:
            arr8 = np.round(np.clip(arr, 0, 65535) * 255.0 / 65535.0).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(arr8[:, :, None], 3, axis=2))
    if mode in ("F",):
        raise ImageLoadError(f"{path}: floating-point images are not supported")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba)[:, :, 3]
        if alpha.min(initial=255) < 255:
            raise ImageLoadError(
                f"{path}: image has a non-opaque alpha channel; codecbench compares RGB only "
                f"(flatten it onto a background first)"
            )
        return np.ascontiguousarray(np.asarray(rgba)[:, :, :3])
    if mode == "CMYK" or mode == "YCbCr" or mode == "LAB" or mode == "HSV":
        im = im.convert("RGB")
    elif mode in ("L", "1"):
        im = im.convert("RGB")
    elif mode != "RGB":
        try:
            im = im.convert("RGB")
        except Exception as exc:  # pragma: no cover - exotic modes
            raise ImageLoadError(f"{path}: cannot convert mode {mode} to RGB ({exc})") from None
    arr = np.asarray(im, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageLoadError(f"{path}: unexpected array shape {arr.shape} after conversion")
    return np.ascontiguousarray(arr)


def content_hash(image: np.ndarray) -> str:
    """SHA-256 (hex, first 16 chars) of the pixels and shape: the same pixels give the same id
    whatever file format held them."""
    h = hashlib.sha256()
    h.update(f"{image.shape}|{image.dtype}".encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()[:16]
