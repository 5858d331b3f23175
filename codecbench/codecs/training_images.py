"""Training images of the learned codecs and upscalers: CamVid train frames and scikit-image's colour photos.

Never Kodak (a test set). CamVid frames come in train.txt order; the last ``val_frames`` are held out for
validation, the ``gap`` before them are left out (neighbouring video frames), and every ``stride``-th of the rest
trains. Images are (source id, RGB uint8 H×W×3) pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NATURAL = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")  # skimage/data files


def training_sources(camvid_root: Path, stride: int, val_frames: int, gap: int
                     ) -> tuple[list[tuple[str, np.ndarray]], list[tuple[str, np.ndarray]]]:
    """(train, val) lists of (source id, image): CamVid train frames plus the scikit-image photos, and the held-out
    CamVid frames."""
    from skimage import data as skdata

    from codecbench.imageio import load_rgb

    lines = [ln.split()[0] for ln in (camvid_root / "train.txt").read_text().split("\n") if ln.strip()]
    held = lines[-val_frames:]
    pool = lines[: -(val_frames + gap)][::stride]
    train = [(f"camvid/{p}", load_rgb(camvid_root / p)) for p in pool]
    sk_dir = Path(skdata.__file__).resolve().parent
    train += [(f"skimage/{n}", load_rgb(sk_dir / n)) for n in NATURAL]
    return train, [(f"camvid/{p}", load_rgb(camvid_root / p)) for p in held]
