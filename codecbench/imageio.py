"""Loading images as RGB uint8 H×W×3, and their content hash.

Conversion rules (documented in README):
- RGB 8-bit: as is. Grayscale (L, 1-bit) and palette images: expanded to RGB (gray copied to R=G=B).
- 16-bit images (16-bit gray, 48-bit RGB, 64-bit RGBA; PNG or TIFF): scaled to 8 bits with
  round(v · 255 / 65535). Pillow would truncate 48/64-bit files to their high byte by itself, so
  those are read with OpenCV (cv2.IMREAD_UNCHANGED), which keeps all 16 bits.
- Alpha (RGBA, LA, PA, palette transparency): dropped when fully opaque; otherwise refused, since
  the codecs here code RGB only and compositing would change what is measured.
- CMYK, YCbCr, LAB and other 8-bit modes: Pillow's conversion to RGB.
- Float images, multi-frame files (animations, multi-page TIFF) and exotic modes: refused.
- Pixels are taken as stored: EXIF orientation and ICC profiles are not applied.
- Anything unreadable (missing, a folder, truncated, not an image) raises ImageLoadError naming
  the file and the problem.
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
    if path.is_dir():
        raise ImageLoadError(f"{path}: is a folder, not an image file")
    try:
        with Image.open(path) as im:
            if getattr(im, "n_frames", 1) > 1:
                raise ImageLoadError(
                    f"{path}: has {im.n_frames} frames/pages; codecbench takes single still images only"
                )
            if _is_deep_colour(im):
                return _load_16bit_colour(path)
            im.load()
            return to_rgb(im, path)
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not a recognised image file") from None
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{path}: refused as too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageLoadError(f"{path}: cannot decode image, file truncated or corrupt ({exc})") from None


def _is_deep_colour(im) -> bool:
    """True for 16-bit-per-channel colour files, which Pillow would reduce to 8 bits by truncation."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    for tile in getattr(im, "tile", None) or []:
        args = tile.args if hasattr(tile, "args") else tile[3]
        rawmode = args[0] if isinstance(args, tuple) else args
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return False


def _load_16bit_colour(path: Path) -> np.ndarray:
    import cv2

    buf = np.fromfile(path, dtype=np.uint8)  # imdecode also copes with non-ASCII paths
    arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ImageLoadError(f"{path}: cannot decode 16-bit colour image (file truncated or corrupt)")
    if arr.dtype != np.uint16:
        raise ImageLoadError(f"{path}: expected 16-bit samples, OpenCV read {arr.dtype}")
    arr8 = scale_16_to_8(arr)
    if arr8.shape[2] == 4:
        if arr8[:, :, 3].min(initial=255) < 255:
            raise ImageLoadError(_alpha_message(path))
        arr8 = arr8[:, :, :3]
    return np.ascontiguousarray(arr8[:, :, ::-1])  # OpenCV's BGR -> RGB


def scale_16_to_8(arr: np.ndarray) -> np.ndarray:
    """16-bit samples to 8 bits: round(v · 255 / 65535), values clipped to 0..65535 first."""
    a = np.clip(np.asarray(arr, dtype=np.float64), 0, 65535)
    return np.round(a * (255.0 / 65535.0)).astype(np.uint8)


def _alpha_message(path) -> str:
    return (
        f"{path}: image has a non-opaque alpha channel; codecbench compares RGB only "
        f"(flatten it onto a background first)"
    )


def to_rgb(im, path: str | Path = "<image>") -> np.ndarray:
    """Convert a loaded PIL image to RGB uint8 H×W×3 (see module rules)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im)
        if mode == "I" and arr.max(initial=0) <= 255 and arr.min(initial=0) >= 0:
            arr8 = arr.astype(np.uint8)  # 8-bit data held in a 32-bit mode
        else:
            arr8 = scale_16_to_8(arr)
        return np.ascontiguousarray(np.repeat(arr8[:, :, None], 3, axis=2))
    if mode == "F":
        raise ImageLoadError(f"{path}: floating-point images are not supported")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = np.asarray(im.convert("RGBA"))
        if rgba[:, :, 3].min(initial=255) < 255:
            raise ImageLoadError(_alpha_message(path))
        return np.ascontiguousarray(rgba[:, :, :3])
    if mode != "RGB":
        try:
            im = im.convert("RGB")
        except Exception as exc:
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
