"""Rate control before / after sharing probes across an image's targets (issue 12), on Kodak.

For each codec and image, the targets 0.0625, 0.125, 0.25, 0.5, 1 bpp are matched (mode "below") twice:
"before" = one independent match_bpp per target (the previous runner: one job per target), "after" =
match_bpp_targets (one RateSession per image and codec, what a JobGroup runs). Printed per codec: mean encodes
per stored point before and after, the chosen settings that differ and, in brackets, the chosen streams that
differ (a knob whose rate is flat over a few settings, as AVIF's and JPEG's lowest qualities, can end on another
setting of the same plateau with the same bytes; a different stream means a non-monotone rate curve), and bpp
accuracy (mean bpp/target of reachable points, points within 5 % below the target, points over the target).

Encoders are deterministic, so each distinct (image, setting) is encoded once for real and served from a memo
to whichever search asks again; the encode COUNTS are those each search makes (what it would spend alone).
Default: 8 of the 24 Kodak images (kodim01, 04, 07, ... every 3rd: the machine's 2 CPU cores are shared);
--all for all 24.

Run:  nice python bench/ratecontrol_shared.py [--all] [--codecs jpeg,avif,heic,jpeg2000,webp,jpegxl]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

TARGETS = (0.0625, 0.125, 0.25, 0.5, 1.0)
CODECS = ("jpeg", "jpeg2000", "webp", "jpegxl", "avif", "heic", "bpg")
WINDOW = 0.05


class MemoCodec:
    """Wraps a bound codec: counts encode calls, encodes each (image, setting) once for real."""

    def __init__(self, codec, memo: dict):
        self._codec, self._memo = codec, memo
        self.knob, self.name = codec.knob, codec.name
        self.calls = 0

    def encode(self, image, k):
        self.calls += 1
        key = (id(image), k)
        if key not in self._memo:
            self._memo[key] = self._codec.encode(image, k)
        return self._memo[key]


def accuracy(results, targets) -> tuple[list[float], int, int]:
    ratios = [r.bpp / t for r, t in zip(results, targets) if r.reachable]
    within = sum(1 for r, t in zip(results, targets) if r.reachable and (1 - WINDOW) * t <= r.bpp <= t)
    over = sum(1 for r, t in zip(results, targets) if r.reachable and r.bpp > t)
    return ratios, within, over


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="all 24 Kodak images (default every 3rd: 8)")
    ap.add_argument("--images", type=int, default=None, help="only the first N of the chosen images")
    ap.add_argument("--codecs", default=",".join(CODECS))
    args = ap.parse_args(argv)

    from codecbench.codecs import registry
    from codecbench.codecs.ratecontrol import match_bpp, match_bpp_targets
    from codecbench.imageio import load_rgb
    from codecbench.paths import require_shared

    paths = sorted(require_shared("data", "kodak").glob("kodim*.png"))
    paths = paths if args.all else paths[::3]
    paths = paths[: args.images] if args.images else paths
    images = [load_rgb(p) for p in paths]
    load = os.getloadavg()
    print(f"# Rate control on Kodak, {len(images)} images × {len(TARGETS)} targets "
          f"({', '.join(f'{t:g}' for t in TARGETS)} bpp), mode below: independent vs shared probes\n")
    print(f"Images: {', '.join(p.stem for p in paths)}. Load average at the start {load[0]:.1f}.\n")
    print("| codec | knob | points | mean encodes before | mean encodes after | max after (one point) "
          "| settings that differ (streams that differ) | mean bpp/target before → after | within 5 % before → after "
          "| over target before → after | seconds |")
    print("|---|---|--:|--:|--:|--:|--:|---|---|---|--:|")
    for name in args.codecs.split(","):
        spec = registry.get(name)
        reason = spec.unavailable(dict(spec.defaults))
        if reason:
            print(f"| {name} | – | skipped: {reason.split(';')[0]} | | | | | | | | |")
            continue
        codec = spec.bind()
        t0 = time.perf_counter()
        memo: dict = {}
        before_calls = after_calls = 0
        max_after = 0
        differ = differ_bytes = 0
        b_all, a_all = [], []
        for image in images:
            alone = MemoCodec(codec, memo)
            before = [match_bpp(alone, image, t) for t in TARGETS]
            shared = MemoCodec(codec, memo)
            after = match_bpp_targets(shared, image, TARGETS)
            assert shared.calls == sum(r.encodes for r in after), "encode count mismatch"
            before_calls += alone.calls
            after_calls += shared.calls
            max_after = max(max_after, *(r.encodes for r in after))
            differ += sum(1 for a, b in zip(after, before) if a.knob != b.knob)
            differ_bytes += sum(1 for a, b in zip(after, before) if a.data != b.data)
            b_all += before
            a_all += after
        n = len(b_all)
        targets = list(TARGETS) * len(images)
        rb, wb, ob = accuracy(b_all, targets)
        ra, wa, oa = accuracy(a_all, targets)
        mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
        knob = codec.knob
        kind = "rate (is_bpp)" if knob.is_bpp else ("integer" if knob.integer else "float")
        print(f"| {name} | {kind} | {n} | {before_calls / n:.2f} | {after_calls / n:.2f} | {max_after} "
              f"| {differ} ({differ_bytes}) "
              f"| {mean(rb):.3f} → {mean(ra):.3f} | {wb} → {wa} | {ob} → {oa} | {time.perf_counter() - t0:.0f} |",
              flush=True)
    load = os.getloadavg()
    print(f"\nLoad average at the end {load[0]:.1f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
