"""Bad inputs: an image that cannot be loaded becomes one failed record in the store, not a failed run.

The record (status ``error``) has codec key :data:`~codecbench.run.store.INPUT_CODEC_KEY`, target ``load`` and
an image hash made from the file's path (its pixels are unknown), so it is stored once per image whatever the
codecs and targets. Reports leave these records out of tables and curves; the run summary lists them. When the
image loads again on a later run its record is removed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from codecbench.datasets import BadImage, ImageRef
from codecbench.run.point_keys import point_key
from codecbench.run.store import INPUT_CODEC_KEY, Store

INPUT_TARGET = "load"


def path_hash(path: str) -> str:
    return "unreadable-" + hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def bad_image_key(path: str) -> str:
    return point_key(path_hash(path), INPUT_CODEC_KEY, INPUT_TARGET)


def bad_image_record(bad: BadImage) -> dict[str, Any]:
    """The store record of an image that could not be loaded (status error, naming the file and the reason)."""
    return {
        "key": bad_image_key(bad.path),
        "image_hash": path_hash(bad.path),
        "codec_key": INPUT_CODEC_KEY,
        "target": INPUT_TARGET,
        "status": "error",
        "kind": "bad_image",
        "dataset": bad.dataset,
        "image_id": bad.id,
        "path": bad.path,
        "codec": None,
        "label": None,
        "target_bpp": None,
        "metrics": {},
        "error": f"ImageLoadError: {bad.error}",
    }


def recovered_keys(images: list[ImageRef]) -> list[str]:
    """Keys of bad-image records that these (now loadable) images may have left in the store."""
    return [bad_image_key(ref.path) for ref in images]


def record_bad_images(db: Store, bad: list[BadImage], loadable: list[ImageRef], stamp: dict[str, Any]) -> None:
    """Store one error record per bad image (stamp: run_id, time, ... added to each); remove the records of
    images that load again."""
    db.discard(recovered_keys(loadable))
    for b in bad:
        db.put({**bad_image_record(b), **stamp})
