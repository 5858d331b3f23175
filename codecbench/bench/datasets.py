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
- Labels: CamVid's 8-bit PNGs hold 0–10 for the classes and 11 for void (ignored). Cityscapes ``*_labelIds.png``
  are mapped to the 19 train ids; every other id becomes 255 (ignored).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecbench.imageio import ImageLoadError, content_hash, load_rgb
from codecbench.paths import ENV_VAR, shared_path

DATASET_NAMES = ("embedded", "folder", "kodak", "camvid", "cityscapes")

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


@dataclass
class Dataset:
    """An ordered list of images; num_classes/ignore_index/class_names are None for unlabelled datasets."""

    name: str
    images: list[ImageRef]
    num_classes: int | None
    ignore_index: int | None
    class_names: tuple[str, ...] | None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labelled(self) -> bool:
        return self.num_classes is not None and all(r.label_path for r in self.images)


class DatasetError(ValueError):
    """A dataset is malformed; the message names the path and what was expected."""


class DatasetNotFound(DatasetError, FileNotFoundError):
    """A dataset folder, list file, image or label is missing; the message names the path."""


# ---------------------------------------------------------------------------------------------------------------
# Loading images and labels


def load_image(ref: ImageRef) -> np.ndarray:
    """The image as RGB uint8 H×W×3; raises ImageLoadError if its pixels no longer match ``ref.hash``."""
    image = load_rgb(ref.path)
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
        raise ValueError(f"image {ref.dataset}/{ref.id} has no label (dataset {ref.dataset!r} is unlabelled)")
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
    raise ValueError(f"{path}: unknown label format {ref.label_format!r}")


def _cityscapes_lut() -> np.ndarray:
    lut = np.full(256, CITYSCAPES_IGNORE, dtype=np.int64)
    for label_id, train_id in CITYSCAPES_ID_TO_TRAIN.items():
        lut[label_id] = train_id
    return lut


_CITYSCAPES_LUT = _cityscapes_lut()


# ---------------------------------------------------------------------------------------------------------------
# Content hashes, cached per file (path, size, mtime)


def _cache_file() -> Path:
    base = os.environ.get("CODECBENCH_CACHE")
    if base:
        return Path(base).expanduser() / "hashes.json"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return root / "codecbench" / "hashes.json"


_memory: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def _read_disk_cache(path: Path) -> dict[str, list]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_disk_cache(path: Path, new: dict[str, tuple[int, int, str]]) -> None:
    """Merge new entries into the cache file atomically; an unwritable cache is silently skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read_disk_cache(path)
        data.update({k: list(v) for k, v in new.items()})
        fd, tmp = tempfile.mkstemp(prefix=".hashes.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass


def file_hashes(paths: list[Path]) -> list[str]:
    """Content hashes of image files (decoding only those not cached under their path, size and mtime)."""
    cache_path = _cache_file()
    disk: dict[str, list] | None = None
    out: list[str] = []
    new: dict[str, tuple[int, int, str]] = {}
    for p in paths:
        key = str(p)
        try:
            st = p.stat()
        except FileNotFoundError:
            raise ImageLoadError(f"{p}: no such file") from None
        stamp = (st.st_size, st.st_mtime_ns)
        with _lock:
            hit = _memory.get(key)
        if hit is None or hit[:2] != stamp:
            if disk is None:
                disk = _read_disk_cache(cache_path)
            entry = disk.get(key)
            hit = tuple(entry) if isinstance(entry, list) and len(entry) == 3 else None
            if hit is None or tuple(hit[:2]) != stamp:
                hit = (*stamp, content_hash(load_rgb(p)))
                new[key] = hit
            with _lock:
                _memory[key] = hit
        out.append(hit[2])
    if new:
        _write_disk_cache(cache_path, new)
    return out


# ---------------------------------------------------------------------------------------------------------------
# The datasets


def load_dataset(name: str, *, root: str | Path | None = None, split: str | None = None,
                 limit: int | None = None) -> Dataset:
    """Load a dataset by name ("embedded", "folder", "kodak", "camvid", "cityscapes").

    root: the dataset folder (required for "folder" and "cityscapes"; Kodak and CamVid default to the shared
    data folder). split: CamVid "train"|"test" (default "test"); Cityscapes "train"|"val"|"test" (default "val").
    limit: keep only the first N images in the dataset's order.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of images, got {limit}")
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASET_NAMES)}")
    if split is not None and name not in ("camvid", "cityscapes"):
        raise ValueError(f"dataset {name!r} has no splits (got split={split!r})")
    if name == "embedded":
        if root is not None:
            raise ValueError("dataset 'embedded' takes no root: it reads the photos inside scikit-image")
        return _embedded(limit)
    if name == "folder":
        if root is None:
            raise ValueError("dataset 'folder' needs root=<folder of images>")
        return _folder(Path(root), limit)
    if name == "kodak":
        return _kodak(_root(root, "kodak"), limit)
    if name == "camvid":
        return _camvid(_root(root, "camvid"), split or "test", limit)
    if root is None:
        raise ValueError("dataset 'cityscapes' needs root=<folder holding leftImg8bit/ and gtFine/>")
    return _cityscapes(Path(root), split or "val", limit)


def _root(root: str | Path | None, name: str) -> Path:
    path = Path(root) if root is not None else shared_path("data", name)
    if not path.is_dir():
        hint = "" if root is not None else f" (set {ENV_VAR} to the shared data folder, or pass root=)"
        raise DatasetNotFound(f"{path}: {name} dataset folder not found{hint}")
    return path.resolve()


def _refs(dataset: str, ids: list[str], paths: list[Path], labels: list[Path] | None = None,
          label_format: str | None = None) -> list[ImageRef]:
    hashes = file_hashes(paths)
    return [
        ImageRef(
            dataset=dataset,
            id=i,
            path=str(p),
            hash=h,
            label_path=str(labels[k]) if labels else None,
            label_format=label_format if labels else None,
        )
        for k, (i, p, h) in enumerate(zip(ids, paths, hashes))
    ]


def _embedded(limit: int | None) -> Dataset:
    import skimage

    folder = Path(skimage.__file__).resolve().parent / "data"
    paths = [folder / f for f in EMBEDDED_FILES if (folder / f).is_file()]
    if not paths:
        raise DatasetNotFound(f"{folder}: none of the embedded photos {EMBEDDED_FILES} is present in scikit-image")
    paths = paths[:limit]
    return Dataset("embedded", _refs("embedded", [p.stem for p in paths], paths), None, None, None)


def _folder(root: Path, limit: int | None) -> Dataset:
    if not root.is_dir():
        raise DatasetNotFound(f"{root}: image folder not found")
    root = root.resolve()
    found = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
         and not any(part.startswith(".") for part in p.relative_to(root).parts)),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not found:
        raise DatasetNotFound(f"{root}: no images found (looked recursively for {', '.join(IMAGE_EXTENSIONS)})")
    ids: dict[str, Path] = {}
    for p in found:
        image_id = p.relative_to(root).with_suffix("").as_posix()
        if image_id in ids:
            raise DatasetError(f"{root}: two images share the id {image_id!r}: {ids[image_id].name} and {p.name}")
        ids[image_id] = p
    items = list(ids.items())[:limit]
    return Dataset("folder", _refs("folder", [i for i, _ in items], [p for _, p in items]), None, None, None)


def _kodak(root: Path, limit: int | None) -> Dataset:
    paths = [root / f"kodim{k:02d}.png" for k in range(1, KODAK_COUNT + 1)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DatasetNotFound(
            f"{root}: Kodak needs the {KODAK_COUNT} files kodim01.png … kodim24.png; missing {', '.join(missing)}"
        )
    paths = paths[:limit]
    return Dataset("kodak", _refs("kodak", [p.stem for p in paths], paths), None, None, None)


def _camvid(root: Path, split: str, limit: int | None) -> Dataset:
    if split not in ("train", "test"):
        raise ValueError(f"CamVid split must be 'train' or 'test', got {split!r}")
    listing = root / f"{split}.txt"
    if not listing.is_file():
        raise DatasetNotFound(
            f"{listing}: CamVid list file not found (expected lines 'image label' relative to {root})"
        )
    images: list[Path] = []
    labels: list[Path] = []
    for n, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise DatasetError(f"{listing}:{n}: expected 'image label', got {line!r}")
        img, lab = (root / parts[0].lstrip("/"), root / parts[1].lstrip("/"))
        for p, what in ((img, "image"), (lab, "label")):
            if not p.is_file():
                raise DatasetNotFound(f"{listing}:{n}: CamVid {what} file {p} not found")
        images.append(img)
        labels.append(lab)
    if not images:
        raise DatasetNotFound(f"{listing}: lists no images")
    images, labels = images[:limit], labels[:limit]
    refs = _refs("camvid", [p.stem for p in images], images, labels, "camvid")
    return Dataset("camvid", refs, len(CAMVID_CLASSES), CAMVID_VOID, CAMVID_CLASSES)


def _cityscapes(root: Path, split: str, limit: int | None) -> Dataset:
    if split not in ("train", "val", "test"):
        raise ValueError(f"Cityscapes split must be 'train', 'val' or 'test', got {split!r}")
    img_dir = root / "leftImg8bit" / split
    gt_dir = root / "gtFine" / split
    if not img_dir.is_dir():
        raise DatasetNotFound(f"{img_dir}: Cityscapes image folder not found (expected leftImg8bit/{split}/<city>/)")
    if not gt_dir.is_dir():
        raise DatasetNotFound(f"{gt_dir}: Cityscapes label folder not found (expected gtFine/{split}/<city>/)")
    suffix = "_leftImg8bit.png"
    images = sorted(img_dir.glob(f"*/*{suffix}"), key=lambda p: (p.parent.name, p.name))
    if not images:
        raise DatasetNotFound(f"{img_dir}: no <city>/*{suffix} images found")
    images = images[:limit]
    ids, labels = [], []
    for p in images:
        frame = p.name[: -len(suffix)]
        lab = gt_dir / p.parent.name / f"{frame}_gtFine_labelIds.png"
        if not lab.is_file():
            raise DatasetNotFound(f"{lab}: Cityscapes label for {p.name} not found")
        ids.append(f"{p.parent.name}/{frame}")
        labels.append(lab)
    refs = _refs("cityscapes", ids, [p.resolve() for p in images], [p.resolve() for p in labels], "cityscapes")
    return Dataset("cityscapes", refs, len(CITYSCAPES_CLASSES), CITYSCAPES_IGNORE, CITYSCAPES_CLASSES)
