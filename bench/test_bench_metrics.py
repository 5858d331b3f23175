"""Speed of the fidelity metrics (PSNR, PSNR-Y, SSIM, MS-SSIM together) on the CPU with 2 (and 1) torch threads,
and on CUDA where present.

Run: pytest bench/test_bench_metrics.py --benchmark-enable
Images per second = 1 / the median time per image (also stored in each benchmark's extra_info).
Sizes: 768×512 (Kodak; a Kodak image when ../shared is present, else an embedded photo resized) and 1024×2048
(Cityscapes; a real photo resized to that size). The distorted image is a JPEG at quality 30.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from codecbench.metrics.fidelity import FIDELITY_METRICS, fidelity, resolve_device
from codecbench.paths import shared_path


def _photo(width: int, height: int) -> np.ndarray:
    kodim = shared_path("data", "kodak", "kodim23.png")
    if kodim.exists():
        im = Image.open(kodim).convert("RGB")
    else:
        from skimage import data

        im = Image.fromarray(data.coffee())
    if im.size != (width, height):
        im = im.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(im)


def _jpeg(image: np.ndarray, quality: int = 30) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.fixture(params=[2, 1], ids=["2threads", "1thread"])
def threads(request):
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.mark.parametrize("width,height,rounds", [(768, 512, 7), (2048, 1024, 3)], ids=["768x512", "1024x2048"])
def test_fidelity_cpu(benchmark, threads, width, height, rounds):
    ref = _photo(width, height)
    dist = _jpeg(ref)
    fidelity(ref, dist)  # warm-up (imports, allocator)
    result = benchmark.pedantic(fidelity, args=(ref, dist), kwargs={"device": "cpu"}, rounds=rounds, iterations=1)
    assert set(result) == set(FIDELITY_METRICS) and all(np.isfinite(v) for v in result.values())
    if benchmark.stats is not None:
        benchmark.extra_info["images_per_second"] = 1.0 / benchmark.stats.stats.median


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("width,height", [(768, 512), (2048, 1024)], ids=["768x512", "1024x2048"])
def test_fidelity_cuda(benchmark, width, height):
    ref = _photo(width, height)
    dist = _jpeg(ref)
    device = resolve_device("cuda")
    fidelity(ref, dist, device=device)

    def run():
        out = fidelity(ref, dist, device=device)  # returns floats: synchronised
        return out

    benchmark.pedantic(run, rounds=20, iterations=1)
    if benchmark.stats is not None:
        benchmark.extra_info["images_per_second"] = 1.0 / benchmark.stats.stats.median
