"""Input handling: every supported file kind loads as RGB uint8 H×W×3 by the documented rules;
bad files raise ImageLoadError naming the file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from codecbench.imageio import ImageLoadError, content_hash, load_rgb


@pytest.fixture(scope="module")
def rgb():
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[::8, ::8])  # 64×64 real photo


def to8(a16: np.ndarray) -> np.ndarray:
    return np.round(a16.astype(np.float64) * 255 / 65535).astype(np.uint8)


@pytest.mark.parametrize("ext,lossless", [("png", True), ("tiff", True), ("bmp", True), ("ppm", True),
                                          ("webp", True), ("jpg", False)])
def test_8bit_rgb_formats(tmp_path, rgb, ext, lossless):
    path = tmp_path / f"img.{ext}"
    options = {"webp": {"lossless": True}, "jpg": {"quality": 95}}.get(ext, {})
    Image.fromarray(rgb).save(path, **options)
    out = load_rgb(path)
    assert out.dtype == np.uint8 and out.shape == rgb.shape and out.flags.c_contiguous
    if lossless:
        assert np.array_equal(out, rgb)
    else:
        assert np.abs(out.astype(int) - rgb).mean() < 6


def test_grayscale_palette_and_bilevel(tmp_path, rgb):
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = load_rgb(tmp_path / "g.png")
    assert out.shape == rgb.shape and all(np.array_equal(out[:, :, c], gray) for c in range(3))
    pal = Image.fromarray(rgb).quantize(64)
    pal.save(tmp_path / "p.png")
    assert np.array_equal(load_rgb(tmp_path / "p.png"), np.asarray(pal.convert("RGB")))
    Image.fromarray(gray).convert("1").save(tmp_path / "b.png")
    assert set(np.unique(load_rgb(tmp_path / "b.png"))) <= {0, 255}


def test_16bit_rgb_png_and_tiff_keep_precision(tmp_path):
    rng = np.random.default_rng(1)
    a16 = rng.integers(0, 65536, (12, 17, 3), dtype=np.uint16)
    a16[0, 0] = (200, 65280, 65535)  # Pillow's high-byte truncation would give (0, 255, 255)
    for ext in ("png", "tiff"):
        path = tmp_path / f"deep.{ext}"
        cv2.imwrite(str(path), a16[:, :, ::-1])  # OpenCV writes BGR
        out = load_rgb(path)
        assert out.dtype == np.uint8 and np.array_equal(out, to8(a16)), ext
    assert tuple(load_rgb(tmp_path / "deep.png")[0, 0]) == (1, 254, 255)


def test_16bit_gray_png(tmp_path):
    g16 = np.random.default_rng(2).integers(0, 65536, (9, 11), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    out = load_rgb(tmp_path / "g16.png")
    assert np.array_equal(out, np.repeat(to8(g16)[:, :, None], 3, axis=2))


def test_16bit_rgba(tmp_path):
    a = np.random.default_rng(3).integers(0, 65536, (8, 8, 4), dtype=np.uint16)
    a[:, :, 3] = 65535
    cv2.imwrite(str(tmp_path / "opaque.png"), a)  # BGRA
    assert np.array_equal(load_rgb(tmp_path / "opaque.png"), to8(a[:, :, [2, 1, 0]]))
    a[0, 0, 3] = 1000
    cv2.imwrite(str(tmp_path / "alpha.png"), a)
    with pytest.raises(ImageLoadError, match="alpha.png.*alpha"):
        load_rgb(tmp_path / "alpha.png")


def test_alpha_rules(tmp_path, rgb):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    assert np.array_equal(load_rgb(tmp_path / "opaque.png"), rgb)
    rgba[5, 5, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "holes.png")
    with pytest.raises(ImageLoadError, match="holes.png.*non-opaque alpha"):
        load_rgb(tmp_path / "holes.png")
    pal = Image.fromarray(rgb).quantize(16)
    pal.save(tmp_path / "ptrans.png", transparency=0)
    with pytest.raises(ImageLoadError, match="ptrans.png"):
        load_rgb(tmp_path / "ptrans.png")


@pytest.mark.parametrize("cut", [0.3, 0.7])
@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_truncated_files(tmp_path, rgb, fmt, cut):
    full = tmp_path / f"full.{fmt}"
    Image.fromarray(rgb).save(full)
    data = full.read_bytes()
    bad = tmp_path / f"cut.{fmt}"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ImageLoadError, match=f"cut.{fmt}"):
        load_rgb(bad)


def test_truncated_16bit_png(tmp_path):
    a16 = np.random.default_rng(4).integers(0, 65536, (32, 32, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), a16)
    data = (tmp_path / "d.png").read_bytes()
    (tmp_path / "dcut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="dcut.png"):
        load_rgb(tmp_path / "dcut.png")


def test_not_images(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    for name, msg in (("notes.txt", "not a recognised image"), ("empty.png", "not a recognised image"),
                      ("missing.png", "no such file")):
        with pytest.raises(ImageLoadError, match=f"{name}: {msg}"):
            load_rgb(tmp_path / name)
    with pytest.raises(ImageLoadError, match="folder"):
        load_rgb(tmp_path)


def test_float_and_multiframe_refused(tmp_path, rgb):
    Image.fromarray(rgb[:, :, 0].astype(np.float32)).save(tmp_path / "f.tiff")
    with pytest.raises(ImageLoadError, match="f.tiff: floating-point"):
        load_rgb(tmp_path / "f.tiff")
    frames = [Image.fromarray(rgb), Image.fromarray(rgb[::-1].copy())]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageLoadError, match="anim.gif: has 2 frames"):
        load_rgb(tmp_path / "anim.gif")


def test_cmyk_jpeg(tmp_path, rgb):
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    out = load_rgb(tmp_path / "cmyk.jpg")
    assert out.shape == rgb.shape and np.abs(out.astype(int) - rgb).mean() < 8


def test_content_hash_ignores_container(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(rgb).save(tmp_path / "a.tiff")
    assert content_hash(load_rgb(tmp_path / "a.png")) == content_hash(load_rgb(tmp_path / "a.tiff"))
    assert content_hash(rgb) != content_hash(rgb[::-1].copy())
