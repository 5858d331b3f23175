"""Encode and decode speed of the GAN codec on the CPU at 768×512 (pytest-benchmark; report the median).

    pytest bench/test_bench_gan.py --benchmark-enable

Uses the shipped checkpoint gan_f8_l4 and one torch thread (set CODECBENCH_BENCH_THREADS to change). The image
is Kodak kodim01 when ../shared is present, else scikit-image's astronaut resized to 768×512. Images/second =
1 / median seconds.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from codecbench.codecs.gan.checkpoint import DEFAULT_CHECKPOINT, shipped_names


@pytest.fixture(scope="module")
def image():
    from codecbench.paths import shared_path

    kodim = shared_path("data", "kodak", "kodim01.png")
    if kodim.exists():
        from codecbench.imageio import load_rgb

        return load_rgb(kodim)
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).resize((768, 512), Image.BICUBIC))


@pytest.fixture(scope="module")
def gan():
    if DEFAULT_CHECKPOINT not in shipped_names():
        pytest.skip(f"checkpoint {DEFAULT_CHECKPOINT} not shipped")
    from codecbench.codecs.gan.spec import GAN

    torch.set_num_threads(int(os.environ.get("CODECBENCH_BENCH_THREADS", "1")))
    return GAN.bind(checkpoint=DEFAULT_CHECKPOINT, device="cpu")


def test_gan_encode_768x512(benchmark, gan, image):
    assert image.shape == (512, 768, 3)
    data = benchmark.pedantic(gan.encode, args=(image,), rounds=7, warmup_rounds=1)
    assert 8 * len(data) / (768 * 512) <= 0.0625


def test_gan_decode_768x512(benchmark, gan, image):
    data = gan.encode(image)
    out = benchmark.pedantic(gan.decode, args=(data,), rounds=7, warmup_rounds=1)
    assert out.shape == image.shape
