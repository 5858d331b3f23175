#!/usr/bin/env python3
"""TEST DOUBLE for libbpg's ``bpgdec`` -- not BPG.

Mimics ``bpgdec -o out.png infile`` for files written by bpgenc_standin.py (magic
``CBSTANDIN-BPG``; JPEG inside) and refuses anything else with exit status 1, like a decoder
given a corrupt stream.
"""

import argparse
import io
import sys

from PIL import Image

MAGIC = b"CBSTANDIN-BPG\n"


def main(argv):
    p = argparse.ArgumentParser(prog="bpgdec", add_help=False)
    p.add_argument("-o", required=True)
    p.add_argument("-b", type=int, default=8)
    p.add_argument("infile")
    a = p.parse_args(argv)
    data = open(a.infile, "rb").read()
    if not data.startswith(MAGIC):
        print("bpgdec: could not decode image (not a stand-in BPG file)", file=sys.stderr)
        return 1
    try:
        with Image.open(io.BytesIO(data[len(MAGIC):])) as im:
            im.convert("RGB").save(a.o, format="PNG")
    except Exception as exc:
        print(f"bpgdec: could not decode image: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
