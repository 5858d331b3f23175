"""The wheel (a non-editable install) carries the suites, the GAN, CAE and upscaler checkpoints, and the console
script."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_lists_the_suites_and_the_gan_checkpoints(tmp_path):
    src = tmp_path / "src"  # a clean copy: building never writes build/ or egg-info into the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "codecbench", src / "codecbench", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("codecbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    suites = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "codecbench" / "suites").glob("*.toml"))
    assert "codecbench/suites/quick.toml" in suites
    assert set(suites) <= names, sorted(set(suites) - names)
    for folder, default in (("gan/checkpoints", "gan_f8_l4"), ("cae/checkpoints", "cae_l2"), ("upscalers", "srcnn")):
        ckpt_dir = ROOT / "codecbench" / "codecs" / folder
        ckpts = sorted(p.relative_to(ROOT).as_posix() for p in ckpt_dir.iterdir()
                       if p.suffix in (".json", ".safetensors"))
        assert any(c.endswith(f"{default}.safetensors") for c in ckpts), folder
        assert set(ckpts) <= names, sorted(set(ckpts) - names)
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "codecbench = codecbench.cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_package_paths_are_inside_the_package():
    """What the wheel must carry is where the code looks for it (not in the checkout around the package)."""
    from codecbench.codecs.gan import locate
    from codecbench.run import suite

    pkg = ROOT / "codecbench"
    assert suite.PACKAGE_SUITES == pkg / "suites" and suite.PACKAGE_SUITES in suite.suite_dirs()
    assert locate.CHECKPOINT_DIR == pkg / "codecs" / "gan" / "checkpoints"
