"""Shared fixtures: ../shared data (skipped with a reason where absent) and small real photos."""

from __future__ import annotations

import pytest

from codecbench.paths import ENV_VAR, shared_path


def _need(*parts: str):
    path = shared_path(*parts)
    if not path.exists():
        pytest.skip(f"{path} absent: set {ENV_VAR} to the shared data folder to run this test")
    return path


@pytest.fixture(scope="session")
def kodak_dir():
    return _need("data", "kodak")


@pytest.fixture(scope="session")
def camvid_dir():
    return _need("data", "camvid")


@pytest.fixture(scope="session")
def espnet_weights():
    return _need("weights", "espnet_p2_q8_camvid.pth")


@pytest.fixture(scope="session")
def photo():
    """A real photograph bundled with scikit-image (astronaut, 512×512 RGB uint8)."""
    from skimage import data

    return data.astronaut()
