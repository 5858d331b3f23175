"""Fidelity metrics against independent references: scikit-image (PSNR, SSIM) and a slow numpy MS-SSIM
(tests/msssim_reference.py), on real photographs with real codec-like distortions."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from codecbench.imageio import load_rgb
from codecbench.metrics.fidelity import (
    FIDELITY_METRICS,
    fidelity,
    fidelity_batch,
    msssim_defined,
)

sys.path.insert(0, str(Path(__file__).parent))
from msssim_reference import ms_ssim_reference  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The CI machine has 2 shared cores: one intra-op thread is faster than two fighting for them."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(image + rng.normal(0, sigma, image.shape)), 0, 255).astype(np.uint8)


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(np.round(gaussian_filter(image.astype(np.float64), (sigma, sigma, 0))), 0, 255).astype(np.uint8)


DISTORTIONS = {
    "jpeg5": lambda im: jpeg(im, 5),
    "jpeg40": lambda im: jpeg(im, 40),
    "noise12": lambda im: noisy(im, 12.0),
    "blur2": lambda im: blurred(im, 2.0),
}

# Photos shipped with scikit-image; crops with odd sides exercise the border and pooling conventions.
PHOTOS = {
    "astronaut": lambda: data.astronaut()[64:448, 32:480],  # 384×448
    "coffee_odd_crop": lambda: data.coffee()[7:300, 11:462],  # 293×451
    "chelsea": lambda: data.chelsea(),  # 300×451
}


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=2
    )


def luma(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float64)
    return 0.299 * f[:, :, 0] + 0.587 * f[:, :, 1] + 0.114 * f[:, :, 2]


@pytest.fixture(scope="module", params=list(PHOTOS))
def photo_pair_set(request):
    image = PHOTOS[request.param]()
    return request.param, image, {name: fn(image) for name, fn in DISTORTIONS.items()}


def test_against_references(photo_pair_set):
    name, ref, dists = photo_pair_set
    for dname, dist in dists.items():
        got = fidelity(ref, dist)
        assert set(got) == set(FIDELITY_METRICS)
        assert got["psnr"] == pytest.approx(peak_signal_noise_ratio(ref, dist, data_range=255), abs=1e-6), dname
        assert got["psnr_y"] == pytest.approx(
            peak_signal_noise_ratio(luma(ref), luma(dist), data_range=255), abs=1e-6
        ), dname
        assert got["ssim"] == pytest.approx(skimage_ssim(ref, dist), abs=1e-4), dname
        assert got["ms_ssim"] == pytest.approx(ms_ssim_reference(ref, dist), abs=1e-4), dname


def test_kodak_against_references(kodak_dir):
    # kodim20 (large flat sky) is where float32 MS-SSIM strays furthest (4e-5); kodim04 is a portrait.
    for stem in ("kodim04", "kodim20"):
        ref = load_rgb(kodak_dir / f"{stem}.png")
        dist = jpeg(ref, 15)
        got = fidelity(ref, dist)
        assert got["psnr"] == pytest.approx(peak_signal_noise_ratio(ref, dist, data_range=255), abs=1e-6)
        assert got["ssim"] == pytest.approx(skimage_ssim(ref, dist), abs=1e-4)
        assert got["ms_ssim"] == pytest.approx(ms_ssim_reference(ref, dist), abs=1e-4)


def test_metrics_order_with_quality():
    """Heavier JPEG compression scores worse on every metric."""
    ref = data.astronaut()[:256, :256]
    lo, hi = fidelity(ref, jpeg(ref, 5)), fidelity(ref, jpeg(ref, 60))
    for m in FIDELITY_METRICS:
        assert lo[m] < hi[m], m


def test_identical_images():
    ref = data.chelsea()
    got = fidelity(ref, ref.copy())
    assert got["psnr"] == math.inf and got["psnr_y"] == math.inf
    assert got["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert got["ms_ssim"] == pytest.approx(1.0, abs=1e-6)


def test_negative_structure_clipped_to_zero():
    """An inverted image has negative contrast-structure; pytorch-msssim and the reference clip it to 0."""
    ref = data.astronaut()[:200, :200]
    assert fidelity(ref, 255 - ref)["ms_ssim"] == 0.0
    assert ms_ssim_reference(ref, 255 - ref) == 0.0


@pytest.mark.parametrize("h,w,defined", [(160, 400, False), (400, 160, False), (161, 161, True), (100, 50, False)])
def test_msssim_small_sides(h, w, defined):
    ref = data.astronaut()[:h, :w]
    dist = noisy(ref, 5.0)
    assert msssim_defined(h, w) is defined
    got = fidelity(ref, dist)
    assert math.isfinite(got["psnr"]) and math.isfinite(got["ssim"])
    assert math.isnan(got["ms_ssim"]) is not defined
    if defined:
        assert got["ms_ssim"] == pytest.approx(ms_ssim_reference(ref, dist), abs=1e-4)


def test_ssim_tiny_image_is_nan():
    ref = data.astronaut()[:8, :30]
    got = fidelity(ref, noisy(ref, 5.0), ["psnr", "ssim"])
    assert set(got) == {"psnr", "ssim"}
    assert math.isnan(got["ssim"]) and math.isfinite(got["psnr"])


def test_batch_matches_single_images():
    refs = [data.astronaut()[:256, :320], data.coffee()[:256, :320]]
    dists = [jpeg(refs[0], 10), noisy(refs[1], 9.0)]
    x = torch.from_numpy(np.stack(refs)).permute(0, 3, 1, 2).float()
    y = torch.from_numpy(np.stack(dists)).permute(0, 3, 1, 2).float()
    batch = fidelity_batch(x, y)
    for i in range(2):
        single = fidelity(refs[i], dists[i])
        for m in FIDELITY_METRICS:
            assert batch[m].shape == (2,)
            assert float(batch[m][i]) == pytest.approx(single[m], abs=1e-9), m


def test_metric_subset_and_symmetry():
    ref = data.coffee()[:200, :240]
    dist = blurred(ref, 1.0)
    a = fidelity(ref, dist, ["ssim", "psnr"])
    b = fidelity(dist, ref, ["ssim", "psnr"])
    assert list(a) == ["ssim", "psnr"]
    assert a["psnr"] == pytest.approx(b["psnr"], abs=1e-12)
    assert a["ssim"] == pytest.approx(b["ssim"], abs=1e-12)


def test_bad_input():
    ref = data.astronaut()[:64, :64]
    with pytest.raises(ValueError, match="differ in size"):
        fidelity(ref, ref[:32])
    with pytest.raises(ValueError, match="uint8"):
        fidelity(ref, ref.astype(np.float32))
    with pytest.raises(ValueError, match="unknown metric"):
        fidelity(ref, ref, ["vmaf"])
    with pytest.raises(ValueError, match="N×3×H×W"):
        fidelity_batch(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_matches_cpu():
    ref = data.astronaut()
    dist = jpeg(ref, 20)
    cpu = fidelity(ref, dist, device="cpu", precision="float64")
    gpu = fidelity(ref, dist, device="cuda", precision="float64")
    for m in FIDELITY_METRICS:
        assert gpu[m] == pytest.approx(cpu[m], abs=1e-9), m
