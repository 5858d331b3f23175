#!/usr/bin/env python3
"""TEST DOUBLE for libbpg's ``bpgenc`` -- not BPG.

Mimics bpgenc's command line (``-q qp -f 420|422|444 -c color_space -b 8 -e x265 -m level -o out infile``;
``-h`` prints a version banner and the option lines the wrapper reads: encoders "x265", bit depth "8 to 8") so that
codecbench's BPG wrapper can be tested where the real binary is absent. Inside it codes the image with Pillow's JPEG
(quality falls as qp rises) and writes a file starting with the magic ``CBSTANDIN-BPG`` so it can never pass for
real BPG.
"""

import argparse
import io
import sys

from PIL import Image

MAGIC = b"CBSTANDIN-BPG\n"
BANNER = "BPG Image Encoder version 0.0-standin (codecbench test double: JPEG inside, not BPG)"


def main(argv):
    if "-h" in argv or not argv:
        print(BANNER)
        print("usage: bpgenc [options] infile")
        print("-b bit_depth         set the bit depth (8 to 8, default = 8)")
        print("-e encoder           select the HEVC encoder (x265, default = x265)")
        return 1  # the real bpgenc also exits with status 1 after -h
    p = argparse.ArgumentParser(prog="bpgenc", add_help=False)
    p.add_argument("-q", type=int, default=28)
    p.add_argument("-f", default="420", choices=["420", "422", "444"])
    p.add_argument("-m", type=int, default=8)
    p.add_argument("-c", default="ycbcr", choices=["ycbcr", "rgb", "ycgco", "ycbcr_bt709", "ycbcr_bt2020"])
    p.add_argument("-b", type=int, default=8)
    p.add_argument("-e", default="x265", choices=["x265"])
    p.add_argument("-o", required=True)
    p.add_argument("infile")
    a = p.parse_args(argv)
    if not 0 <= a.q <= 51:
        print(f"bpgenc: qp must be between 0 and 51, got {a.q}", file=sys.stderr)
        return 1
    if a.b != 8:
        print("bpgenc stand-in: only -b 8 is mimicked", file=sys.stderr)
        return 1
    try:
        with Image.open(a.infile) as im:
            rgb = im.convert("RGB")
    except Exception as exc:
        print(f"bpgenc: could not read {a.infile}: {exc}", file=sys.stderr)
        return 1
    quality = max(1, min(100, round(100 - a.q * 99 / 51)))
    sub = {"420": "4:2:0", "422": "4:2:2", "444": "4:4:4"}[a.f]
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=quality, subsampling=sub, optimize=True)
    with open(a.o, "wb") as f:
        f.write(MAGIC + buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
