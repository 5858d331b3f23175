"""Datasets: ids, hashes, labels, the hash cache and the errors for missing or malformed data."""

from __future__ import annotations

import hashlib
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from codecbench import datasets as ds
from codecbench import hashcache
from codecbench.datasets import (
    CAMVID_CLASSES,
    CITYSCAPES_CLASSES,
    DatasetError,
    DatasetNotFound,
    ImageRef,
    load_dataset,
    load_image,
    load_label,
)
from codecbench.imageio import ImageLoadError, content_hash, load_rgb


@pytest.fixture(autouse=True)
def hash_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own on-disk and in-memory hash cache."""
    folder = tmp_path_factory.mktemp("hashcache")
    monkeypatch.setenv("CODECBENCH_CACHE", str(folder))
    monkeypatch.setattr(hashcache, "_memory", {})
    return folder / "hashes.json"


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def rand_rgb(seed, h=12, w=16):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# -- embedded ---------------------------------------------------------------------------------------------------


def test_embedded_photos():
    d = load_dataset("embedded")
    assert d.name == "embedded" and d.num_classes is None and not d.labelled
    assert [r.id for r in d.images] == [f.rsplit(".", 1)[0] for f in ds.EMBEDDED_FILES]
    for ref in d.images:
        img = load_image(ref)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert min(img.shape[:2]) > 160  # every metric, MS-SSIM included, is defined
        assert not (np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))
        assert ref.hash == content_hash(img)
        assert os.path.isabs(ref.path)
    assert len({r.hash for r in d.images}) == len(d.images)
    assert pickle.loads(pickle.dumps(d.images[0])) == d.images[0]
    assert [r.id for r in load_dataset("embedded", limit=2).images] == [r.id for r in d.images[:2]]


# -- folder -----------------------------------------------------------------------------------------------------


def test_folder_recursive_sorted_ids(tmp_path):
    write_png(tmp_path / "b.png", rand_rgb(1))
    write_png(tmp_path / "sub" / "a.png", rand_rgb(2))
    Image.fromarray(rand_rgb(3)).save(tmp_path / "A.JPG")
    write_png(tmp_path / "sub" / "deeper" / "c.png", rand_rgb(4))
    write_png(tmp_path / ".hidden" / "x.png", rand_rgb(5))
    (tmp_path / "notes.txt").write_text("not an image")
    d = load_dataset("folder", root=tmp_path)
    assert [r.id for r in d.images] == ["A", "b", "sub/a", "sub/deeper/c"]
    for r in d.images:
        assert r.dataset == "folder" and r.hash == content_hash(load_rgb(r.path))
    assert len(load_dataset("folder", root=tmp_path, limit=3)) == 3


def test_folder_errors(tmp_path):
    with pytest.raises(DatasetNotFound, match="image folder not found") as exc:
        load_dataset("folder", root=tmp_path / "nope")
    assert str(tmp_path / "nope") in str(exc.value)
    with pytest.raises(DatasetNotFound, match="no images found"):
        load_dataset("folder", root=tmp_path)
    write_png(tmp_path / "x.png", rand_rgb(1))
    Image.fromarray(rand_rgb(2)).save(tmp_path / "x.jpg")
    with pytest.raises(DatasetError, match="share the id 'x'"):
        load_dataset("folder", root=tmp_path)
    with pytest.raises(ValueError, match="needs root"):
        load_dataset("folder")
    (tmp_path / "x.jpg").unlink()
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageLoadError, match="broken.png"):
        load_dataset("folder", root=tmp_path)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="no splits"):
        load_dataset("embedded", split="test")
    with pytest.raises(ValueError, match="limit"):
        load_dataset("embedded", limit=0)
    with pytest.raises(DatasetNotFound, match="kodak dataset folder not found"):
        load_dataset("kodak", root=str(tmp_path / "nonexistent" / "kodak"))


# -- hash cache and change detection ---------------------------------------------------------------------------


def test_hash_cache_and_invalidation(tmp_path, hash_cache, monkeypatch):
    p = tmp_path / "img.png"
    write_png(p, rand_rgb(1))
    first = load_dataset("folder", root=tmp_path).images[0]
    assert hash_cache.exists()
    calls = []
    real = ds.content_hash
    monkeypatch.setattr(hashcache, "content_hash", lambda im: calls.append(1) or real(im))
    monkeypatch.setattr(hashcache, "_memory", {})  # force the on-disk cache
    again = load_dataset("folder", root=tmp_path).images[0]
    assert again.hash == first.hash and calls == []
    write_png(p, rand_rgb(2, 20, 20))  # new content, new size/mtime
    os.utime(p, ns=(1, 10**18))
    changed = load_dataset("folder", root=tmp_path).images[0]
    assert len(calls) == 1 and changed.hash != first.hash
    monkeypatch.setattr(hashcache, "content_hash", real)
    with pytest.raises(ImageLoadError, match="content changed"):
        load_image(first)


def test_unwritable_cache_is_not_fatal(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CODECBENCH_CACHE", str(blocker / "sub"))
    write_png(tmp_path / "imgs" / "a.png", rand_rgb(1))
    assert len(load_dataset("folder", root=tmp_path / "imgs")) == 1


# -- Kodak and CamVid (shared data) ------------------------------------------------------------------------------


def test_kodak(kodak_dir):
    d = load_dataset("kodak")
    assert len(d) == 24 and [r.id for r in d.images] == [f"kodim{k:02d}" for k in range(1, 25)]
    sums = dict(line.split()[::-1] for line in (kodak_dir / "SHA256SUMS").read_text().splitlines() if line.strip())
    portrait = set()
    for r in d.images:
        with open(r.path, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == sums[os.path.basename(r.path)]
        with Image.open(r.path) as im:
            if im.size == (512, 768):
                portrait.add(r.id)
            else:
                assert im.size == (768, 512)
    assert portrait == {"kodim04", "kodim09", "kodim10", "kodim17", "kodim18", "kodim19"}
    assert load_image(d.images[0]).shape == (512, 768, 3)


def test_kodak_missing_file(kodak_dir, tmp_path):
    for k in range(1, 24):
        (tmp_path / f"kodim{k:02d}.png").symlink_to(kodak_dir / f"kodim{k:02d}.png")
    with pytest.raises(DatasetNotFound, match="missing kodim24.png"):
        load_dataset("kodak", root=tmp_path)


def test_camvid(camvid_dir):
    d = load_dataset("camvid")  # the test split by default
    assert len(d) == 233 and d.labelled
    assert d.num_classes == 11 and d.ignore_index == 11 and d.class_names == CAMVID_CLASSES
    assert d.class_names[0] == "Sky" and d.class_names[-1] == "Bicyclist"
    ref = d.images[0]
    assert ref.id == "0001TP_008550" and ref.label_format == "camvid"
    img, lab = load_image(ref), load_label(ref)
    assert img.shape == (360, 480, 3) and lab.shape == (360, 480) and lab.dtype == np.int64
    assert lab.min() >= 0 and lab.max() <= 11
    train = load_dataset("camvid", split="train", limit=3)
    assert len(train) == 3 and all("/train/" in r.path for r in train.images)
    with pytest.raises(ValueError, match="split"):
        load_dataset("camvid", split="val")


def _mini_camvid(root, label_value=3):
    write_png(root / "test" / "f1.png", rand_rgb(1))
    (root / "testannot").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((12, 16), label_value, np.uint8)).save(root / "testannot" / "f1.png")
    (root / "test.txt").write_text("test/f1.png testannot/f1.png\n")


def test_camvid_layout_errors(tmp_path):
    with pytest.raises(DatasetNotFound, match="test.txt: CamVid list file not found"):
        load_dataset("camvid", root=tmp_path)
    _mini_camvid(tmp_path)
    d = load_dataset("camvid", root=tmp_path)
    assert (load_label(d.images[0]) == 3).all()
    (tmp_path / "test.txt").write_text("test/f1.png testannot/f1.png\ntest/f2.png testannot/f2.png\n")
    with pytest.raises(DatasetNotFound, match=r"test.txt:2: CamVid image file .*f2.png not found"):
        load_dataset("camvid", root=tmp_path)
    (tmp_path / "test.txt").write_text("test/f1.png\n")
    with pytest.raises(DatasetError, match="expected 'image label'"):
        load_dataset("camvid", root=tmp_path)


def test_camvid_label_out_of_range(tmp_path):
    _mini_camvid(tmp_path, label_value=40)
    ref = load_dataset("camvid", root=tmp_path).images[0]
    with pytest.raises(ImageLoadError, match=r"f1.png: CamVid label values must be 0–11"):
        load_label(ref)


# -- Cityscapes (synthetic tree) ---------------------------------------------------------------------------------


def _cityscapes_tree(root, split="val"):
    label_ids = np.array([[7, 8, 11, 0], [23, 26, 33, 1], [24, 25, 34, 255]], dtype=np.uint8)
    cities = {"zurich": ("zurich_000001_000019", "zurich_000000_000019"), "aachen": ("aachen_000002_000019",)}
    for city, frames in cities.items():
        for k, frame in enumerate(frames):
            write_png(root / "leftImg8bit" / split / city / f"{frame}_leftImg8bit.png", rand_rgb(k, 3, 4))
            lab = root / "gtFine" / split / city / f"{frame}_gtFine_labelIds.png"
            lab.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(label_ids).save(lab)
            Image.fromarray(np.zeros((3, 4), np.uint8)).save(lab.parent / f"{frame}_gtFine_instanceIds.png")


def test_cityscapes(tmp_path):
    _cityscapes_tree(tmp_path)
    d = load_dataset("cityscapes", root=tmp_path)  # the val split by default
    assert [r.id for r in d.images] == ["aachen/aachen_000002_000019", "zurich/zurich_000000_000019",
                                        "zurich/zurich_000001_000019"]
    assert d.num_classes == 19 and d.ignore_index == 255 and d.class_names == CITYSCAPES_CLASSES
    lab = load_label(d.images[0])
    expected = np.array([[0, 1, 2, 255], [10, 13, 18, 255], [11, 12, 255, 255]])
    np.testing.assert_array_equal(lab, expected)
    assert lab.dtype == np.int64
    assert len(load_dataset("cityscapes", root=tmp_path, limit=1)) == 1


def test_cityscapes_errors(tmp_path):
    with pytest.raises(ValueError, match="needs root"):
        load_dataset("cityscapes")
    with pytest.raises(DatasetNotFound, match="leftImg8bit/val/<city>"):
        load_dataset("cityscapes", root=tmp_path)
    _cityscapes_tree(tmp_path, split="train")
    with pytest.raises(DatasetNotFound, match="leftImg8bit/val"):
        load_dataset("cityscapes", root=tmp_path)
    os.remove(tmp_path / "gtFine" / "train" / "zurich" / "zurich_000000_000019_gtFine_labelIds.png")
    with pytest.raises(DatasetNotFound, match="zurich_000000_000019_gtFine_labelIds.png: Cityscapes label"):
        load_dataset("cityscapes", root=tmp_path, split="train")


def test_unlabelled_image_has_no_label():
    ref = ImageRef(dataset="folder", id="x", path="/x.png", hash="0")
    with pytest.raises(ValueError, match="has no label"):
        load_label(ref)
