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
- Anything unreadable (missing, a folder, no permission, truncated, not an image) raises ImageLoadError naming
  the file and the problem.
- Size limit: images above ``max_pixels`` (W·H; default :data:`DEFAULT_MAX_PIXELS` = 100 MP, or
  ``$CODECBENCH_MAX_PIXELS``) are refused from their header, before any pixel is decoded.
- Memory: 16-bit samples are scaled to 8 bits in row blocks with integer arithmetic (no float64 copy), so the
  peak is the decoded 16-bit array plus the 8-bit result (≤ 1.5× the decoded array, plus one block).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from codecbench.errors import CodecbenchError


class ImageLoadError(CodecbenchError, ValueError):
    """An input image could not be read or converted; the message names the file and the problem."""


DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "CODECBENCH_MAX_PIXELS"
_BLOCK_SAMPLES = 1 << 22  # samples per block of the 16-bit -> 8-bit conversion (16 MiB of uint32)


def max_pixels_limit(max_pixels: int | None = None) -> int:
    """The pixel limit in force: max_pixels if given, else $CODECBENCH_MAX_PIXELS, else DEFAULT_MAX_PIXELS."""
    if max_pixels is not None:
        return int(max_pixels)
    env = os.environ.get(MAX_PIXELS_ENV)
    if env:
        try:
            value = int(float(env))
        except ValueError:
            raise ValueError(f"${MAX_PIXELS_ENV}={env!r} is not a number of pixels") from None
        if value < 1:
            raise ValueError(f"${MAX_PIXELS_ENV}={env!r} must be at least 1")
        return value
    return DEFAULT_MAX_PIXELS


def _refuse_size(path: Path, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise ImageLoadError(
            f"{path}: refused as too large: {width}×{height} = {width * height / 1e6:.1f} MP exceeds the limit of "
            f"{limit / 1e6:g} MP (suite key max_pixels or ${MAX_PIXELS_ENV})"
        )


def check_size(path: str | Path, max_pixels: int | None = None) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding; ImageLoadError above the pixel limit or when
    the header cannot be read."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{path}: is a folder, not an image file") from None
    except PermissionError as exc:
        raise ImageLoadError(f"{path}: cannot read the file: permission denied ({exc.strerror})") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not a recognised image file") from None
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{path}: refused as too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageLoadError(f"{path}: cannot read the image header, file truncated or corrupt ({exc})") from None
    _refuse_size(path, width, height, max_pixels_limit(max_pixels))
    return width, height


def load_rgb(path: str | Path, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as RGB uint8 H×W×3 following the module's conversion rules.

    max_pixels: refuse images with more pixels (checked from the header, before decoding)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.is_dir():
        raise ImageLoadError(f"{path}: is a folder, not an image file")
    limit = max_pixels_limit(max_pixels)
    try:
        with Image.open(path) as im:
            _refuse_size(path, im.size[0], im.size[1], limit)
            frames = int(getattr(im, "n_frames", 1))
            if frames > 1:
                raise ImageLoadError(
                    f"{path}: has {frames} frames/pages; codecbench takes single still images only"
                )
            if _is_deep_colour(im):
                return _load_16bit_colour(path)
            im.load()
            return to_rgb(im, path)
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: no such file") from None
    except PermissionError as exc:
        raise ImageLoadError(f"{path}: cannot read the file: permission denied ({exc.strerror})") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not a recognised image file") from None
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(f"{path}: not enough memory to decode this image") from None
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
    if arr.shape[2] == 4 and scale_16_to_8(np.array([arr[:, :, 3].min(initial=65535)]))[0] < 255:
        raise ImageLoadError(_alpha_message(path))
    return scale_16_to_8(arr[:, :, 2::-1])  # OpenCV's BGR(A) -> RGB, alpha dropped, in the same pass


def scale_16_to_8(arr: np.ndarray) -> np.ndarray:
    """16-bit samples to 8 bits: round(v · 255 / 65535), values clipped to 0..65535 first (a new C-contiguous
    uint8 array). Integer arithmetic in blocks of rows: floor((v·255 + 32767) / 65535) equals the rounded
    quotient exactly (v·255/65535 = v/257 is never a tie), with no float64 copy of the image."""
    arr = np.atleast_1d(np.asarray(arr))
    out = np.empty(arr.shape, dtype=np.uint8)
    if arr.size == 0:
        return out
    rows = max(1, _BLOCK_SAMPLES // max(1, arr.size // arr.shape[0]))
    for r0 in range(0, arr.shape[0], rows):
        block = arr[r0:r0 + rows]  # a view: blocks are copied one at a time
        if block.dtype.kind == "f":
            out[r0:r0 + rows] = np.round(np.clip(np.nan_to_num(block), 0, 65535) * (255.0 / 65535.0))
            continue
        if block.dtype != np.uint16:
            block = np.clip(block, 0, 65535)
        tmp = block.astype(np.uint32)
        tmp *= 255
        tmp += 32767
        tmp //= 65535
        out[r0:r0 + rows] = tmp
    return out


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
