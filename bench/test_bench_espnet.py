"""Speed of the ESPNet segmenter at its native 480×360 on the CPU with 2 torch threads.

Run: pytest bench/test_bench_espnet.py --benchmark-enable
Images per second = batch size / the median time of one ``predict`` call (pre-processing, network, argmax), also
stored in each benchmark's extra_info. Uses the shared weights (skipped when ../shared is absent) and a CamVid test
frame, or an embedded photo resized to 480×360. Speed does depend on the weight values: the published weights hold
about 10 600 subnormal floats, which x86 multiplies on a slow path. ``load_network`` flushes them to zero (scores
bit-identical); the ``subnormals-kept`` case puts them back, so one run gives the ratio.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from codecbench.metrics.segmenters import create
from codecbench.paths import ENV_VAR, shared_path


def _frame() -> np.ndarray:
    frame = shared_path("data", "camvid", "test", "0001TP_008550.png")
    if frame.exists():
        im = Image.open(frame).convert("RGB")
    else:
        from skimage import data

        im = Image.fromarray(data.astronaut())
    if im.size != (480, 360):
        im = im.resize((480, 360), Image.Resampling.BICUBIC)
    return np.asarray(im)


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", params=["flushed", "subnormals-kept"])
def espnet(request):
    weights = shared_path("weights", "espnet_p2_q8_camvid.pth")
    if not weights.exists():
        pytest.skip(f"{weights} absent: set {ENV_VAR} to the shared data folder")
    seg = create("espnet", weights=str(weights), device="cpu", batch_size=8)
    if request.param == "subnormals-kept":
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = {k.removeprefix("module."): v for k, v in state.items()}
        seg.net.load_state_dict(state, strict=False)  # the published values, subnormals included
    return seg


@pytest.mark.parametrize("batch,rounds", [(1, 10), (8, 3)], ids=["batch1", "batch8"])
def test_espnet_cpu_480x360(benchmark, two_threads, espnet, batch, rounds):
    images = np.stack([_frame()] * batch)
    espnet.predict(images)  # warm-up (oneDNN kernels, allocator)
    out = benchmark.pedantic(espnet.predict, args=(images,), rounds=rounds, iterations=1)
    assert out.shape == (batch, 360, 480)
    if benchmark.stats is not None:
        benchmark.extra_info["images_per_second"] = batch / benchmark.stats.stats.median
