"""Speed of the harness itself (pytest-benchmark; not run by the unit tests).

    pytest bench/test_bench_runner.py --benchmark-enable --benchmark-autosave          # save a baseline
    pytest bench/test_bench_runner.py --benchmark-enable --benchmark-compare \\
        --benchmark-compare-fail=median:30%                                             # fail if 30 % slower

Measures: one stored point (SQLite transaction), one JPEG point end to end (rate control + decode + PSNR/SSIM/
MS-SSIM on a 256×256 crop of a real photo), and aggregating 2,000 points into a table. torch uses 1 thread.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from codecbench.datasets import load_dataset
from codecbench.report import reports
from codecbench.run.jobs import Job, execute_job
from codecbench.run.point_keys import target_key
from codecbench.run.store import Store

torch.set_num_threads(1)


def _rec(i: int) -> dict:
    return {"image_hash": f"h{i % 24}", "codec_key": f"c{i // 240}", "target": target_key(0.0625 * (1 + i // 24 % 10)),
            "status": "ok", "codec": f"c{i // 240}", "label": f"c{i // 240}", "target_bpp": 0.0625 * (1 + i // 24 % 10),
            "bpp": 0.06 * (1 + i // 24 % 10), "metrics": {"psnr": 30.0 + i % 7, "ssim": 0.9, "ms_ssim": 0.95},
            "dataset": "kodak", "image_id": f"kodim{i % 24:02d}"}


def test_bench_store_put(benchmark, tmp_path):
    store = Store(tmp_path)
    counter = iter(range(10**9))
    benchmark(lambda: store.put(_rec(next(counter))))
    store.close()


def test_bench_jpeg_point(benchmark, tmp_path):
    from skimage import data

    Image.fromarray(np.ascontiguousarray(data.astronaut()[128:384, 128:384])).save(tmp_path / "a.png")
    ref = load_dataset("folder", root=tmp_path).images[0]
    from codecbench.codecs import registry
    from codecbench.run.point_keys import codec_key_of

    key = codec_key_of(registry.create("jpeg").describe())
    job = Job(image=ref, codec="jpeg", settings=(), codec_label="jpeg", codec_key=key, target_bpp=0.5,
              metrics=("psnr", "ssim", "ms_ssim"))
    rec = benchmark(execute_job, job)
    assert rec["status"] == "ok"


def test_bench_aggregate(benchmark, tmp_path):
    with Store(tmp_path) as s:
        for i in range(2000):
            s.put(_rec(i))
    points = reports.load_points(tmp_path)
    agg = benchmark(reports.aggregate, points)
    assert len(agg) > 0
