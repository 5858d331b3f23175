"""Fault injection on inputs: bad images in every dataset type (D1), the pixel limit and 16-bit memory (D3),
permission errors named as such (D11)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import codecbench.datasets as ds
from codecbench import hashcache
from codecbench.datasets import load_dataset
from codecbench.imageio import ImageLoadError, check_size, load_rgb, scale_16_to_8
from codecbench.run.runner import RunError, run_suite
from codecbench.run.store import Store
from codecbench.run.suite import parse_suite


@pytest.fixture(autouse=True)
def hash_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CODECBENCH_CACHE", str(tmp_path_factory.mktemp("hashcache")))
    monkeypatch.setattr(hashcache, "_memory", {})


def _photo(k: int, h: int = 40, w: int = 48) -> np.ndarray:
    from skimage import data

    img = data.astronaut()
    return np.ascontiguousarray(img[60 * k:60 * k + h, 70 * k:70 * k + w])


def _png(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


BAD_FILES = {"zero": b"", "garbage": b"this is not an image at all", "truncated": None}


def _bad(path: Path, kind: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "truncated":
        _png(path, _photo(0))
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.write_bytes(BAD_FILES[kind])
    return path


# --- every dataset type lists bad images instead of failing ------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_folder_bad_image_listed_and_gif_ignored(tmp_path, kind):
    _png(tmp_path / "a.png", _photo(0))
    _png(tmp_path / "sub" / "b.png", _photo(1))
    _bad(tmp_path / "zero.png", kind)
    (tmp_path / "anim.gif").write_bytes(b"GIF89a")
    with pytest.raises(ImageLoadError, match="zero.png"):
        load_dataset("folder", root=tmp_path)  # the library default stays strict
    d = load_dataset("folder", root=tmp_path, skip_bad=True)
    assert [r.id for r in d.images] == ["a", "sub/b"]
    assert [(b.id, Path(b.path).name) for b in d.bad] == [("zero", "zero.png")]
    assert "zero.png" in d.bad[0].error
    assert d.ignored == ["anim.gif"]


def test_kodak_bad_image(tmp_path):
    for k in range(1, 25):
        _png(tmp_path / f"kodim{k:02d}.png", _photo(k % 3, 8, 12))
    _bad(tmp_path / "kodim07.png", "zero")
    d = load_dataset("kodak", root=tmp_path, skip_bad=True)
    assert len(d.images) == 23 and [b.id for b in d.bad] == ["kodim07"] and d.bad[0].index == 6


def test_camvid_bad_image(tmp_path):
    lines = []
    for k in range(3):
        _png(tmp_path / "test" / f"f{k}.png", _photo(k, 12, 16))
        _png(tmp_path / "testannot" / f"f{k}.png", np.full((12, 16), 3, np.uint8))
        lines.append(f"test/f{k}.png testannot/f{k}.png")
    _bad(tmp_path / "test" / "f1.png", "truncated")
    (tmp_path / "test.txt").write_text("\n".join(lines) + "\n")
    d = load_dataset("camvid", root=tmp_path, skip_bad=True)
    assert [r.id for r in d.images] == ["f0", "f2"] and [b.id for b in d.bad] == ["f1"]


def test_cityscapes_bad_image(tmp_path):
    for frame in ("zurich_000000_000019", "zurich_000001_000019"):
        _png(tmp_path / "leftImg8bit" / "val" / "zurich" / f"{frame}_leftImg8bit.png", _photo(0, 6, 8))
        _png(tmp_path / "gtFine" / "val" / "zurich" / f"{frame}_gtFine_labelIds.png", np.full((6, 8), 7, np.uint8))
    _bad(tmp_path / "leftImg8bit" / "val" / "zurich" / "zurich_000001_000019_leftImg8bit.png", "garbage")
    d = load_dataset("cityscapes", root=tmp_path, skip_bad=True)
    assert [r.id for r in d.images] == ["zurich/zurich_000000_000019"]
    assert [b.id for b in d.bad] == ["zurich/zurich_000001_000019"]


def test_embedded_bad_image(tmp_path, monkeypatch):
    import skimage

    real = Path(skimage.__file__).resolve().parent / "data"
    fake = tmp_path / "skimage"
    (fake / "data").mkdir(parents=True)
    for name in ds.EMBEDDED_FILES:
        (fake / "data" / name).symlink_to(real / name)
    (fake / "data" / "chelsea.png").unlink()
    _bad(fake / "data" / "chelsea.png", "zero")
    monkeypatch.setattr(skimage, "__file__", str(fake / "__init__.py"))
    d = load_dataset("embedded", skip_bad=True, limit=3)
    assert [r.id for r in d.images] == ["astronaut", "coffee"] and [b.id for b in d.bad] == ["chelsea"]


# --- the run goes on, records the bad image once, and exits non-zero ---------------------------------------------


def _suite(tmp_path: Path, root: Path, **head) -> object:
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in head.items())
    path = tmp_path / "s.toml"
    path.write_text(f"""
[suite]
name = "bad"
targets = [0.5, 1.0]
metrics = ["psnr"]
output = "{tmp_path / 'out'}"
{extra}
[[datasets]]
name = "folder"
root = "{root}"

[[codecs]]
name = "jpeg"
""")
    import tomllib

    return parse_suite(tomllib.loads(path.read_text()), path)


def test_run_with_bad_image_goes_on_and_reports(tmp_path):
    """D1: the issue's reproducer (two photos and an empty zero.png): points for the good images, one failed
    record naming zero.png, the summary lists it and ignored files, exit code 1; a fixed image clears it."""
    root = tmp_path / "photos"
    _png(root / "a.png", _photo(0))
    _png(root / "b.png", _photo(1))
    _bad(root / "zero.png", "zero")
    (root / "notes.txt").write_text("x")
    suite = _suite(tmp_path, root)
    summary = run_suite(suite, progress=False, log=lambda s: None)
    assert summary.computed == 4 and summary.ok + summary.unreachable == 4
    assert summary.exit_code == 1 and len(summary.bad_images) == 1 and "zero.png" in summary.bad_images[0]
    text = "\n".join(summary.lines())
    assert "BAD IMAGE" in text and "zero.png" in text and "notes.txt" in text
    with Store(summary.store, read_only=True) as db:
        errors = list(db.records(status=["error"]))
    assert len(errors) == 1 and errors[0]["image_id"] == "zero" and "zero.png" in errors[0]["error"]
    from codecbench.report import reports

    points = reports.load_points(summary.store)
    assert len(points) == 4 and set(points["image_id"]) == {"a", "b"}  # the bad image is not a table row
    again = run_suite(suite, progress=False, log=lambda s: None)  # rerun: recorded once, nothing recomputed
    with Store(summary.store, read_only=True) as db:
        assert db.count("error") == 1 and db.count() == 5
    assert again.computed == 0 and again.exit_code == 1
    _png(root / "zero.png", _photo(2))  # repaired
    fixed = run_suite(suite, progress=False, log=lambda s: None)
    assert fixed.computed == 2 and fixed.exit_code == 0 and not fixed.bad_images
    with Store(summary.store, read_only=True) as db:
        assert db.count("error") == 0 and db.count() == 6


def test_on_bad_image_fail_stops_before_encoding(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    _png(root / "a.png", _photo(0))
    _bad(root / "zero.png", "zero")
    import codecbench.run.jobs as jobs

    monkeypatch.setattr(jobs, "execute_job", lambda job: pytest.fail("encoded before refusing the bad image"))
    with pytest.raises(RunError, match=r"zero.png.*|on_bad_image"):
        run_suite(_suite(tmp_path, root, on_bad_image="fail"), progress=False, log=lambda s: None)
    assert not (tmp_path / "out" / "store.sqlite").exists()


# --- D3: pixel limit from the header, 16-bit conversion without float copies -------------------------------------


def test_pixel_limit_checked_from_header_before_decoding(tmp_path, monkeypatch):
    path = _png(tmp_path / "big.png", np.zeros((300, 400, 3), np.uint8))
    assert check_size(path) == (400, 300)
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1))
    with pytest.raises(ImageLoadError, match=r"big.png: refused as too large: 400×300"):
        load_rgb(path, max_pixels=100_000)
    monkeypatch.setenv("CODECBENCH_MAX_PIXELS", "1000")
    with pytest.raises(ImageLoadError, match="too large"):
        load_rgb(path)
    assert decoded == []  # refused from the header: no pixel was decoded
    monkeypatch.undo()
    d = load_dataset("folder", root=tmp_path, skip_bad=True, max_pixels=100_000)
    assert not d.images and "too large" in d.bad[0].error


def test_16_bit_scaling_exact_and_without_float_copies():
    v = np.arange(65536, dtype=np.uint16)
    ref = np.round(v.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    assert np.array_equal(scale_16_to_8(v), ref)
    arr = np.random.default_rng(0).integers(0, 65536, (600, 700, 3), dtype=np.uint16)
    tracemalloc.start()
    try:
        out = scale_16_to_8(arr[:, :, ::-1])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(out, np.round(arr[:, :, ::-1] * (255.0 / 65535.0)).astype(np.uint8))
    # the 8-bit result (half the input) plus one uint32 block (16 MiB cap); float64 would be 4× the input
    assert peak <= out.nbytes + 4 * (1 << 22) + (1 << 20), peak


def test_16_bit_png_loads(tmp_path):
    import cv2

    img = np.random.default_rng(3).integers(0, 65536, (30, 40, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), img)
    out = load_rgb(tmp_path / "deep.png")
    assert np.array_equal(out, np.round(img[:, :, ::-1] * (255.0 / 65535.0)).astype(np.uint8))


def test_permission_error_is_not_called_corrupt(tmp_path, monkeypatch):
    """D11: as root the file system would let us read anyway, so the open itself is made to fail."""
    path = _png(tmp_path / "locked.png", _photo(0))

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", denied)
    for fn in (load_rgb, check_size):
        with pytest.raises(ImageLoadError) as exc:
            fn(path)
        assert "permission denied" in str(exc.value) and "corrupt" not in str(exc.value)
