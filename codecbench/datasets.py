"""Datasets: ordered lists of images (and labels, where a dataset has them) with stable ids and hashes.

    ds = load_dataset("kodak")                     # 24 images from ../shared/data/kodak
    ds = load_dataset("camvid", split="test")      # 233 frames + labels, 11 classes, void = 11
    ds = load_dataset("folder", root="photos/")    # any folder of images, recursive
    ds = load_dataset("cityscapes", root=..., split="val")
    ds = load_dataset("embedded")                  # photos shipped inside scikit-image (the default)
    img = load_image(ds.images[0])                 # RGB uint8 H×W×3
    lab = load_label(ds.images[0])                 # int64 H×W, ignored pixels = ds.ignore_index

Conventions:
- Image ids are stable: the file stem (Kodak, CamVid, embedded), the dataset-relative path without extension
  and with "/" separators (folder), or "<city>/<frame>" (Cityscapes).
- ``ImageRef.hash`` is :func:`codecbench.imageio.content_hash` of the decoded pixels, so results key on content,
  not on file names. Hashes are cached per file (absolute path, size, mtime) in memory and in
  ``$CODECBENCH_CACHE/hashes.json`` (default ``$XDG_CACHE_HOME/codecbench`` or ``~/.cache/codecbench``),
  so reloading a large dataset does not decode every image again.
- :func:`load_image` checks the pixels still have the recorded hash and refuses a file changed since.
- Bad images: by default an image that cannot be decoded raises ImageLoadError. With ``skip_bad=True`` it is
  left out of ``images`` and listed in ``Dataset.bad`` (a :class:`BadImage` naming the file and the reason), so
  one broken file never stops a study. Files a folder dataset does not read (``.gif``, ``.txt``, ...) are listed
  in ``Dataset.ignored``.
- ``max_pixels`` (default :data:`codecbench.imageio.DEFAULT_MAX_PIXELS`, or ``$CODECBENCH_MAX_PIXELS``) refuses
  larger images from their header, before decoding; it travels with each :class:`ImageRef`.
- Labels: CamVid's 8-bit PNGs hold 0–10 for the classes and 11 for void (ignored). Cityscapes ``*_labelIds.png``
  are mapped to the 19 train ids; every other id becomes 255 (ignored).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from codecbench.errors import CodecbenchError
from codecbench.hashcache import file_hashes
from codecbench.imageio import ImageLoadError, content_hash, load_rgb
from codecbench.paths import ENV_VAR, shared_path
from codecbench.plugins import Registry

DATASET_NAMES = ("embedded", "folder", "kodak", "camvid", "cityscapes")  # the built-ins; see REGISTRY

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm")

# Colour photographs shipped inside scikit-image's package (skimage/data), no download needed.
# Synthetic (color.png, chessboard), grayscale, alpha (horse, logo) and scientific images are left out.
EMBEDDED_FILES = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")

CAMVID_CLASSES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
    "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
)  # fmt: skip
CAMVID_VOID = 11

CITYSCAPES_CLASSES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)  # fmt: skip
CITYSCAPES_IGNORE = 255
# Cityscapes labelId -> trainId for the 19 evaluated classes (cityscapesScripts' labels.py).
CITYSCAPES_ID_TO_TRAIN = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}  # fmt: skip

KODAK_COUNT = 24


@dataclass(frozen=True)
class ImageRef:
    """One image of a dataset; small and picklable so a job can travel to another process or machine.

    path: absolute path of the image file. hash: content hash of its decoded RGB pixels.
    label_path/label_format: the label image and how to read it ("camvid", "cityscapes"), or None.
    """

    dataset: str
    id: str
    path: str
    hash: str
    label_path: str | None = None
    label_format: str | None = None
    max_pixels: int | None = None  # None: the default limit (see codecbench.imageio.max_pixels_limit)


@dataclass(frozen=True)
class BadImage:
    """An image of a dataset that could not be loaded: the file and the reason (ImageLoadError's message)."""

    dataset: str
    id: str
    path: str
    error: str
    index: int = -1  # position in the dataset's order (before bad images were left out)


@dataclass
class Dataset:
    """An ordered list of images; num_classes/ignore_index/class_names are None for unlabelled datasets."""

    name: str
    images: list[ImageRef]
    num_classes: int | None
    ignore_index: int | None
    class_names: tuple[str, ...] | None
    bad: list[BadImage] = field(default_factory=list)  # images left out (skip_bad=True), with the reason
    ignored: list[str] = field(default_factory=list)  # files a folder dataset does not read (e.g. .gif)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labelled(self) -> bool:
        return self.num_classes is not None and all(r.label_path for r in self.images)


class DatasetError(CodecbenchError, ValueError):
    """A dataset is malformed; the message names the path and what was expected."""


class DatasetNotFound(DatasetError, FileNotFoundError):
    """A dataset folder, list file, image or label is missing; the message names the path."""


# ---------------------------------------------------------------------------------------------------------------
# Loading images and labels


def load_image(ref: ImageRef) -> np.ndarray:
    """The image as RGB uint8 H×W×3; raises ImageLoadError if its pixels no longer match ``ref.hash``."""
    image = load_rgb(ref.path, max_pixels=ref.max_pixels)
    got = content_hash(image)
    if got != ref.hash:
        raise ImageLoadError(
            f"{ref.path}: content changed since the dataset was loaded (hash {got}, expected {ref.hash})"
        )
    return image


def load_label(ref: ImageRef) -> np.ndarray:
    """The label map of an image as int64 H×W; void/ignored pixels hold the dataset's ignore index."""
    from PIL import Image

    if not ref.label_path:
        raise DatasetError(f"image {ref.dataset}/{ref.id} has no label (dataset {ref.dataset!r} is unlabelled)")
    path = Path(ref.label_path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("L", "P", "I", "I;16", "I;16L", "I;16B"):
                raise ImageLoadError(f"{path}: label image has mode {im.mode}, expected a single-channel image")
            raw = np.asarray(im).astype(np.int64)
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: label file not found") from None
    except (OSError, SyntaxError) as exc:
        raise ImageLoadError(f"{path}: cannot decode label image ({exc})") from None
    if ref.label_format == "camvid":
        bad = raw > CAMVID_VOID
        if bad.any():
            raise ImageLoadError(
                f"{path}: CamVid label values must be 0–{CAMVID_VOID} ({CAMVID_VOID} = void), "
                f"found {sorted(np.unique(raw[bad]).tolist())[:5]}"
            )
        return raw
    if ref.label_format == "cityscapes":
        if raw.min(initial=0) < 0 or raw.max(initial=0) > 255:
            raise ImageLoadError(f"{path}: Cityscapes labelIds must be 0–255")
        return _CITYSCAPES_LUT[raw]
    raise DatasetError(f"{path}: unknown label format {ref.label_format!r}")


def _cityscapes_lut() -> np.ndarray:
    lut = np.full(256, CITYSCAPES_IGNORE, dtype=np.int64)
    for label_id, train_id in CITYSCAPES_ID_TO_TRAIN.items():
        lut[label_id] = train_id
    return lut


_CITYSCAPES_LUT = _cityscapes_lut()


# ---------------------------------------------------------------------------------------------------------------
# The datasets


# name -> "module:attribute" of a source: callable(root, split, limit) -> Dataset (see dataset_sources).
BUILTIN: dict[str, str] = {
    "embedded": "codecbench.dataset_sources:embedded",
    "folder": "codecbench.dataset_sources:folder",
    "kodak": "codecbench.dataset_sources:kodak",
    "camvid": "codecbench.dataset_sources:camvid",
    "cityscapes": "codecbench.dataset_sources:cityscapes",
}
SPLITS: dict[str, tuple[str, ...]] = {"camvid": ("train", "test"), "cityscapes": ("train", "val", "test")}

REGISTRY: Registry[Callable[..., "Dataset"]] = Registry("dataset", "codecbench.datasets", BUILTIN)


def load_dataset(name: str, *, root: str | Path | None = None, split: str | None = None,
                 limit: int | None = None, skip_bad: bool = False, max_pixels: int | None = None) -> Dataset:
    """Load a dataset by name ("embedded", "folder", "kodak", "camvid", "cityscapes", or a plugin's).

    root: the dataset folder (required for "folder" and "cityscapes"; Kodak and CamVid default to the shared
    data folder). split: CamVid "train"|"test" (default "test"); Cityscapes "train"|"val"|"test" (default "val").
    limit: keep only the first N images in the dataset's order (bad images count towards it).
    skip_bad: list undecodable images in ``Dataset.bad`` instead of raising ImageLoadError.
    max_pixels: refuse images above this many pixels (from the header; default: the imageio default).
    """
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be a positive number of images, got {limit}")
    if name not in REGISTRY:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(REGISTRY.names())}")
    if split is not None and name in BUILTIN and name not in SPLITS:
        raise DatasetError(f"dataset {name!r} has no splits (got split={split!r})")
    source = REGISTRY.get(name)
    _opts.skip_bad, _opts.max_pixels, _opts.bad = skip_bad, max_pixels, []
    try:
        ds = source(Path(root) if root is not None else None, split, limit)
        ds.bad = list(_opts.bad)
        return ds
    finally:
        _opts.skip_bad, _opts.max_pixels, _opts.bad = False, None, []


class _Options(threading.local):
    """Per-call options of load_dataset, read by _refs (kept out of every dataset source's signature)."""

    skip_bad = False
    max_pixels: int | None = None
    bad: list[BadImage] = []


_opts = _Options()


def _root(root: str | Path | None, name: str) -> Path:
    path = Path(root) if root is not None else shared_path("data", name)
    if not path.is_dir():
        hint = "" if root is not None else f" (set {ENV_VAR} to the shared data folder, or pass root=)"
        raise DatasetNotFound(f"{path}: {name} dataset folder not found{hint}")
    return path.resolve()


def _refs(dataset: str, ids: list[str], paths: list[Path], labels: list[Path] | None = None,
          label_format: str | None = None) -> list[ImageRef]:
    """ImageRefs of the loadable images; undecodable ones go to _opts.bad when skip_bad, else raise."""
    errors: dict[int, str] | None = {} if _opts.skip_bad else None
    hashes = file_hashes(paths, errors=errors, max_pixels=_opts.max_pixels)
    _opts.bad = [BadImage(dataset, ids[k], str(paths[k]), msg, k) for k, msg in sorted((errors or {}).items())]
    return [
        ImageRef(
            dataset=dataset,
            id=i,
            path=str(p),
            hash=h,
            label_path=str(labels[k]) if labels else None,
            label_format=label_format if labels else None,
            max_pixels=_opts.max_pixels,
        )
        for k, (i, p, h) in enumerate(zip(ids, paths, hashes))
        if h is not None
    ]
