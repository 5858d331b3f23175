"""JPEG 2000: one encode meets the target without exceeding it; works with Pillow's bundled
libopenjp2 when no system library is used; resolution levels capped for small images."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from codecbench.codecs import jpeg2000
from codecbench.codecs._glymur_setup import bundled_openjp2
from codecbench.codecs.ratecontrol import match_bpp
from codecbench.codecs.spec import bpp_of
from codecbench.imageio import load_rgb

_PROBE = r"""
import json, numpy as np
from skimage import data
from codecbench.codecs._glymur_setup import library_source, openjpeg_version
from codecbench.codecs.jpeg2000 import JPEG2000
img = data.astronaut()
c = JPEG2000.bind()
b = c.encode(img, 0.5)
out = c.decode(b)
mse = float(np.mean((out.astype(float) - img) ** 2))
print(json.dumps({"source": library_source(), "version": openjpeg_version(), "bytes": len(b),
                  "shape": list(out.shape), "psnr": 10 * np.log10(255**2 / mse)}))
"""


def test_bundled_openjpeg_in_fresh_process(tmp_path):
    """Force Pillow's bundled libopenjp2 (as on a machine without a system OpenJPEG)."""
    if bundled_openjp2() is None:
        pytest.skip("this Pillow build bundles no libopenjp2")
    env = dict(os.environ, CODECBENCH_OPENJP2="bundled", XDG_CONFIG_HOME=str(tmp_path / "noconfig"))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["source"].startswith("bundled with Pillow")
    assert tuple(int(x) for x in res["version"].split(".")[:2]) >= (2, 4)
    assert res["shape"] == [512, 512, 3]
    assert res["bytes"] * 8 / (512 * 512) <= 0.5
    assert res["psnr"] > 28
    # the temporary glymurrc folder must not leak into the user's environment
    assert not (tmp_path / "noconfig").exists()


def test_missing_library_is_reported(tmp_path):
    env = dict(os.environ, CODECBENCH_OPENJP2=str(tmp_path / "no-such-libopenjp2.so"))
    code = "from codecbench.codecs import registry; print(registry.get('jpeg2000').unavailable({'wavelet': '9/7'}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "libopenjp2" in proc.stdout and "CODECBENCH_OPENJP2" in proc.stdout


@pytest.mark.parametrize("target", [0.05, 0.125, 0.25, 0.5, 1.0, 2.0])
def test_one_encode_meets_target(photo, target):
    codec = jpeg2000.JPEG2000.bind()
    r = match_bpp(codec, photo, target)
    assert r.encodes == 1 and r.reachable
    assert r.bpp == pytest.approx(bpp_of(r.data, *photo.shape[:2]))
    assert 0.95 * target <= r.bpp <= target


@pytest.mark.shared
def test_one_encode_kodak(kodak_dir):
    codec = jpeg2000.JPEG2000.bind()
    for stem in ("kodim01", "kodim19"):
        img = load_rgb(kodak_dir / f"{stem}.png")
        for target in (0.125, 0.25, 0.5, 1.0):
            r = match_bpp(codec, img, target)
            assert r.encodes == 1 and 0.95 * target <= r.bpp <= target, (stem, target, r.bpp)


def test_levels_capped_for_small_images():
    assert jpeg2000.levels_for(512, 768, 5) == 5
    assert jpeg2000.levels_for(20, 700, 5) == 4
    assert jpeg2000.levels_for(1, 1, 5) == 0
    img = np.full((6, 40, 3), 128, np.uint8)
    codec = jpeg2000.JPEG2000.bind()
    assert codec.decode(codec.encode(img, 4.0)).shape == img.shape


def test_target_below_header_size_is_unreachable(photo):
    codec = jpeg2000.JPEG2000.bind()
    tiny = photo[:32, :32].copy()
    r = match_bpp(codec, tiny, 0.01)  # 1.28 bytes: less than the codestream headers
    assert not r.reachable and r.min_bpp == r.bpp and r.bpp > 0.01
