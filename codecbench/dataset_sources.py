"""The built-in dataset sources, one function each: ``source(root, split, limit) -> Dataset``.

They are registered by name in :data:`codecbench.datasets.BUILTIN`; call them through
:func:`codecbench.datasets.load_dataset`, which checks ``limit`` and ``split`` first. A plugin adds a dataset with
the same signature through the entry-point group ``codecbench.datasets``.
"""

from __future__ import annotations

from pathlib import Path

from codecbench.datasets import (
    CAMVID_CLASSES,
    CAMVID_VOID,
    CITYSCAPES_CLASSES,
    CITYSCAPES_IGNORE,
    EMBEDDED_FILES,
    IMAGE_EXTENSIONS,
    KODAK_COUNT,
    Dataset,
    DatasetError,
    DatasetNotFound,
    _refs,
    _root,
)


def embedded(root: Path | None, split: str | None, limit: int | None) -> Dataset:
    """The photos shipped inside scikit-image."""
    if root is not None:
        raise DatasetError("dataset 'embedded' takes no root: it reads the photos inside scikit-image")
    import skimage

    folder = Path(skimage.__file__).resolve().parent / "data"
    paths = [folder / f for f in EMBEDDED_FILES if (folder / f).is_file()]
    if not paths:
        raise DatasetNotFound(f"{folder}: none of the embedded photos {EMBEDDED_FILES} is present in scikit-image")
    paths = paths[:limit]
    return Dataset("embedded", _refs("embedded", [p.stem for p in paths], paths), None, None, None)


def folder(root: Path | None, split: str | None, limit: int | None) -> Dataset:
    """Any folder of images, recursive; ids are relative paths without extension."""
    if root is None:
        raise DatasetError("dataset 'folder' needs root=<folder of images>")
    if not root.is_dir():
        raise DatasetNotFound(f"{root}: image folder not found")
    root = root.resolve()
    visible = sorted(
        (p for p in root.rglob("*") if p.is_file()
         and not any(part.startswith(".") for part in p.relative_to(root).parts)),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    found = [p for p in visible if p.suffix.lower() in IMAGE_EXTENSIONS]
    ignored = [p.relative_to(root).as_posix() for p in visible if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if not found:
        raise DatasetNotFound(f"{root}: no images found (looked recursively for {', '.join(IMAGE_EXTENSIONS)})")
    ids: dict[str, Path] = {}
    for p in found:
        image_id = p.relative_to(root).with_suffix("").as_posix()
        if image_id in ids:
            raise DatasetError(f"{root}: two images share the id {image_id!r}: {ids[image_id].name} and {p.name}")
        ids[image_id] = p
    items = list(ids.items())[:limit]
    return Dataset("folder", _refs("folder", [i for i, _ in items], [p for _, p in items]), None, None, None,
                   ignored=ignored)


def kodak(root: Path | None, split: str | None, limit: int | None) -> Dataset:
    """The 24 Kodak images (default: the shared data folder)."""
    root = _root(root, "kodak")
    paths = [root / f"kodim{k:02d}.png" for k in range(1, KODAK_COUNT + 1)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DatasetNotFound(
            f"{root}: Kodak needs the {KODAK_COUNT} files kodim01.png … kodim24.png; missing {', '.join(missing)}"
        )
    paths = paths[:limit]
    return Dataset("kodak", _refs("kodak", [p.stem for p in paths], paths), None, None, None)


def camvid(root: Path | None, split: str | None, limit: int | None) -> Dataset:
    """CamVid with labels (default split "test", default root the shared data folder)."""
    root, split = _root(root, "camvid"), split or "test"
    if split not in ("train", "test"):
        raise DatasetError(f"CamVid split must be 'train' or 'test', got {split!r}")
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


def cityscapes(root: Path | None, split: str | None, limit: int | None) -> Dataset:
    """Cityscapes leftImg8bit + gtFine labelIds mapped to the 19 train ids (default split "val")."""
    if root is None:
        raise DatasetError("dataset 'cityscapes' needs root=<folder holding leftImg8bit/ and gtFine/>")
    split = split or "val"
    if split not in ("train", "val", "test"):
        raise DatasetError(f"Cityscapes split must be 'train', 'val' or 'test', got {split!r}")
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
