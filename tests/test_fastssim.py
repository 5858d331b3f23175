"""The float32 SSIM / MS-SSIM path (codecbench.metrics.fastssim, the default precision) against the float64 path
and the independent references (scikit-image SSIM, tests/msssim_reference.py), within 1e-5 absolute."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from codecbench.imageio import load_rgb
from codecbench.metrics import fastssim
from codecbench.metrics.fidelity import FIDELITY_METRICS, fidelity, fidelity_batch

sys.path.insert(0, str(Path(__file__).parent))
from msssim_reference import ms_ssim_reference  # noqa: E402

TOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    import cv2

    before_torch, before_cv = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    yield
    torch.set_num_threads(before_torch)
    cv2.setNumThreads(before_cv)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(image + rng.normal(0, sigma, image.shape)), 0, 255).astype(np.uint8)


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=2)


def assert_close_to_float64(ref: np.ndarray, dist: np.ndarray, what: str) -> dict[str, float]:
    fast = fidelity(ref, dist)
    slow = fidelity(ref, dist, precision="float64")
    assert list(fast) == list(FIDELITY_METRICS)
    for m in ("psnr", "psnr_y"):  # float64 under both precisions
        assert fast[m] == pytest.approx(slow[m], rel=1e-12, abs=1e-12), (what, m)
    for m in ("ssim", "ms_ssim"):
        if math.isnan(slow[m]):
            assert math.isnan(fast[m]), (what, m)
        else:
            assert abs(fast[m] - slow[m]) <= TOL, (what, m, fast[m] - slow[m])
    return fast


SKIMAGE_PHOTOS = {
    "astronaut": lambda: data.astronaut(),  # 512×512
    "coffee_odd": lambda: data.coffee()[7:300, 11:462],  # 293×451: odd sides at every pyramid level
    "chelsea": lambda: data.chelsea(),  # 300×451
    "rocket": lambda: data.rocket(),  # 427×640
    "flat_161": lambda: np.ascontiguousarray(data.astronaut()[:161, 300:, :]),  # smallest side MS-SSIM allows
}


@pytest.mark.parametrize("name", list(SKIMAGE_PHOTOS))
def test_skimage_photos_against_float64_and_references(name):
    ref = SKIMAGE_PHOTOS[name]()
    for dist in (jpeg(ref, 5), jpeg(ref, 50), noisy(ref, 10.0)):
        got = assert_close_to_float64(ref, dist, name)
        assert abs(got["ssim"] - skimage_ssim(ref, dist)) <= TOL, name
        assert abs(got["ms_ssim"] - ms_ssim_reference(ref, dist)) <= TOL, name


def test_kodak_against_float64_and_references(kodak_dir):
    # kodim20 (large flat sky) is where pytorch-msssim's float32 path strays furthest (4.3e-5).
    for stem in ("kodim04", "kodim20", "kodim23"):
        ref = load_rgb(kodak_dir / f"{stem}.png")
        for q in (3, 25):
            dist = jpeg(ref, q)
            got = assert_close_to_float64(ref, dist, f"{stem} q{q}")
            if q == 3:
                assert abs(got["ssim"] - skimage_ssim(ref, dist)) <= TOL, stem
                assert abs(got["ms_ssim"] - ms_ssim_reference(ref, dist)) <= TOL, stem


def test_camvid_against_float64(camvid_dir):
    frames = sorted((camvid_dir / "test").glob("*.png"))[::60]
    assert frames, f"no CamVid test frames under {camvid_dir}"
    for path in frames:
        ref = load_rgb(path)
        dist = jpeg(ref, 5)
        got = assert_close_to_float64(ref, dist, path.name)
        assert abs(got["ms_ssim"] - ms_ssim_reference(ref, dist)) <= TOL, path.name


def test_torch_path_matches_opencv_path():
    """The torch float32 code (what CUDA runs) agrees with the OpenCV one, here both on the CPU."""
    refs = [data.astronaut()[:300, :333], data.coffee()[:300, :333]]
    dists = [jpeg(refs[0], 8), noisy(refs[1], 7.0)]
    x = torch.from_numpy(np.stack(refs)).permute(0, 3, 1, 2)
    y = torch.from_numpy(np.stack(dists)).permute(0, 3, 1, 2)
    s, ms = fastssim.ssim_msssim_torch(x, y)
    for i in range(2):
        want = fidelity(refs[i], dists[i], ["ssim", "ms_ssim"])
        assert float(s[i]) == pytest.approx(want["ssim"], abs=1e-6)
        assert float(ms[i]) == pytest.approx(want["ms_ssim"], abs=1e-6)


def test_identical_and_inverted():
    ref = data.chelsea()
    same = fidelity(ref, ref.copy())
    assert same["ssim"] == 1.0 and same["ms_ssim"] == pytest.approx(1.0, abs=1e-12)
    assert same["psnr"] == math.inf
    assert fidelity(data.astronaut()[:200, :200], 255 - data.astronaut()[:200, :200])["ms_ssim"] == 0.0


@pytest.mark.parametrize("h,w", [(160, 400), (400, 160), (10, 50), (11, 11)])
def test_undefined_sizes_are_nan(h, w):
    ref = data.astronaut()[:h, :w]
    dist = noisy(ref, 5.0)
    got = fidelity(ref, dist)
    assert math.isnan(got["ms_ssim"])
    assert math.isnan(got["ssim"]) is (min(h, w) < 11)
    if min(h, w) >= 11:
        assert got["ssim"] == pytest.approx(fidelity(ref, dist, precision="float64")["ssim"], abs=TOL)


def test_subsets_and_buffer_reuse_across_sizes():
    """Scratch buffers are reused between calls: a big image, a small one, the big one again agree."""
    big, small = data.astronaut(), data.coffee()[:200, :220]
    db, ds = jpeg(big, 10), jpeg(small, 10)
    first = fidelity(big, db)
    fidelity(small, ds)
    assert fidelity(big, db) == first
    assert fidelity(small, ds, ["ms_ssim"])["ms_ssim"] == fidelity(small, ds)["ms_ssim"]
    assert fidelity(small, ds, ["ssim"])["ssim"] == fidelity(small, ds)["ssim"]


def test_batch_float32_matches_single():
    refs = [data.astronaut()[:256, :320], data.coffee()[:256, :320]]
    dists = [jpeg(refs[0], 10), noisy(refs[1], 9.0)]
    x = torch.from_numpy(np.stack(refs)).permute(0, 3, 1, 2).float()
    y = torch.from_numpy(np.stack(dists)).permute(0, 3, 1, 2).float()
    batch = fidelity_batch(x, y)
    for i in range(2):
        single = fidelity(refs[i], dists[i])
        for m in FIDELITY_METRICS:
            assert float(batch[m][i]) == pytest.approx(single[m], abs=1e-9), m


def test_unknown_precision():
    ref = data.astronaut()[:64, :64]
    with pytest.raises(ValueError, match="precision"):
        fidelity(ref, ref, precision="float16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_float32_matches_float64():
    ref = data.astronaut()
    dist = jpeg(ref, 20)
    gpu, want = fidelity(ref, dist, device="cuda"), fidelity(ref, dist, precision="float64")
    for m in FIDELITY_METRICS:
        assert gpu[m] == pytest.approx(want[m], abs=TOL), m


def test_job_uses_the_suite_precision():
    from codecbench.datasets import load_dataset
    from codecbench.run.jobs import Job, execute_job
    from codecbench.run.point_keys import codec_key_of
    from codecbench.run.worker_cache import bound_codec

    ref = load_dataset("embedded", limit=1).images[0]
    key = codec_key_of(bound_codec("jpeg", ()).describe())
    base = dict(image=ref, codec="jpeg", settings=(), codec_label="jpeg", codec_key=key, target_bpp=None,
                knob=20.0, metrics=("psnr", "ssim", "ms_ssim"))
    fast, slow = execute_job(Job(**base)), execute_job(Job(**base, precision="float64"))
    assert fast["status"] == slow["status"] == "ok", (fast.get("error"), slow.get("error"))
    assert (fast["precision"], slow["precision"]) == ("float32", "float64")
    assert fast["key"] == slow["key"]  # the precision is not part of a point's identity
    assert fast["metrics"]["psnr"] == slow["metrics"]["psnr"]
    for m in ("ssim", "ms_ssim"):
        assert abs(fast["metrics"][m] - slow["metrics"][m]) <= TOL
