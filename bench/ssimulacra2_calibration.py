"""SSIMULACRA 2 against libjxl's documented calibration: libjpeg-turbo 4:2:0 at quality 14, 20, 35, 70 should
score about 10, 30, 50, 70 on typical photos (libjxl tools/ssimulacra2 README, "updated April 2023").

    python bench/ssimulacra2_calibration.py [--stride 2]      # every 2nd Kodak image -> results/kodak/

Our JPEG codec (libjpeg-turbo via Pillow, 4:2:0, optimize) at those qualities; writes
``ssimulacra2_calibration.md`` with the mean, median and range over the images.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DOC = {14: 10, 20: 30, 35: 50, 70: 70}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stride", type=int, default=2)
    ap.add_argument("--out", default="results/kodak/ssimulacra2_calibration.md")
    args = ap.parse_args(argv)

    import numpy as np

    from codecbench.codecs import registry
    from codecbench.datasets import load_dataset, load_image
    from codecbench.metrics.ssimulacra2 import ssimulacra2

    refs = load_dataset("kodak").images[:: args.stride]
    jpeg = registry.create("jpeg")
    t0 = time.perf_counter()
    scores = {q: [] for q in DOC}
    for ref in refs:
        img = load_image(ref)
        for q in DOC:
            scores[q].append(ssimulacra2(img, jpeg.decode(jpeg.encode(img, q))))
    lines = ["# SSIMULACRA 2 against libjxl's documented calibration (Kodak)", "",
             f"libjpeg-turbo 4:2:0 (our `jpeg` codec: Pillow, optimize=true) on {len(refs)} Kodak images "
             f"(1 in {args.stride}), `codecbench.metrics.ssimulacra2`; {time.perf_counter() - t0:.0f} s. "
             "libjxl's README: quality 14 ≈ 10 (very low), 20 ≈ 30 (low), 35 ≈ 50 (medium), 70 ≈ 70 (high), "
             "for 'typical output'.", "",
             "| JPEG quality | documented | mean | median | min | max |", "|--:|--:|--:|--:|--:|--:|"]
    for q, want in DOC.items():
        v = np.array(scores[q])
        lines.append(f"| {q} | {want} | {v.mean():.1f} | {np.median(v):.1f} | {v.min():.1f} | {v.max():.1f} |")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
