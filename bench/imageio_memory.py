"""Peak memory and time of loading a large 16-bit PNG with ``load_rgb`` (issue 11, D3).

    python bench/imageio_memory.py [--side 12000] [--other-checkout /work/main]

Writes a smooth 16-bit RGB gradient (side×side, saved with OpenCV) under /tmp, loads it in a fresh
subprocess per checkout with /usr/bin/time -v (maximum resident set size = peak RSS) and deletes the file.
The decoded array itself is side²·3·2 bytes; the goal is a peak ≤ 2× that. The pixel limit is raised to 1 GP
for the measurement (12000² = 144 MP is above the default 100 MP limit, which refuses it from the header).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

IMPORTS = "import cv2, numpy, PIL.Image; import codecbench.imageio; print('imports only')"
LOAD = ("import sys, time; t=time.perf_counter(); from codecbench.imageio import load_rgb; "
        "a=load_rgb(sys.argv[1]); print('shape', a.shape, 'load_s %.2f' % (time.perf_counter()-t))")


def make_png(path: Path, side: int) -> None:
    import cv2
    import numpy as np

    ramp = np.linspace(0, 65535, side, dtype=np.float32)
    img = np.empty((side, side, 3), dtype=np.uint16)
    img[:, :, 0] = ramp[None, :].astype(np.uint16)
    img[:, :, 1] = ramp[:, None].astype(np.uint16)
    img[:, :, 2] = 32768
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise RuntimeError(f"cannot write {path}")


def measure(checkout: str, png: Path, code: str = LOAD) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": checkout, "OMP_NUM_THREADS": "1", "CODECBENCH_MAX_PIXELS": "1e9"}
    out = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code, str(png)], env=env, cwd=png.parent,
                         capture_output=True, text=True, timeout=1800)  # cwd: `-c` puts it first on sys.path
    rss_kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    if out.returncode != 0 or not rss_kb:
        return float("nan"), f"failed rc={out.returncode}: {out.stderr.strip().splitlines()[:3]}"
    return int(rss_kb.group(1)) / 1024**2, out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=12000)
    ap.add_argument("--other-checkout", help="also measure this checkout (e.g. the code before the change)")
    args = ap.parse_args()
    here = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory(prefix="codecbench-mem-") as tmp:
        png = Path(tmp) / "gradient16.png"
        make_png(png, args.side)
        decoded_gb = args.side**2 * 3 * 2 / 1024**3
        print(f"{png.name}: {args.side}×{args.side} 16-bit RGB, {png.stat().st_size / 1e3:.0f} kB on disk, "
              f"decoded 16-bit array {decoded_gb:.2f} GiB")
        base, _ = measure(here, png, IMPORTS)  # the interpreter with numpy, cv2 and PIL imported, nothing decoded
        print(f"baseline (imports only): peak RSS {base:.2f} GiB")
        for name, checkout in [("this checkout", here)] + ([("other", args.other_checkout)]
                                                            if args.other_checkout else []):
            gb, info = measure(checkout, png)
            print(f"{name} ({checkout}): peak RSS {gb:.2f} GiB, {gb - base:.2f} GiB above the baseline = "
                  f"{(gb - base) / decoded_gb:.2f}× the decoded array; {info}")


if __name__ == "__main__":
    main()
