"""The sr wrapper against its inner codec on ALL CamVid test frames, from the automotive study's store (issue 16).

Reads results/automotive-camvid/table.csv (written by ``python bench/automotive_camvid.py``, which runs the sr
entries of the automotive suite: bicubic, SRCNN, ResCNN and adaptive around JPEG 2000, and ResCNN around BPG,
the study's best classical codec at 0.0625 bpp) and writes results/sr/automotive-camvid.md: at 0.0625, 0.125
and 0.25 bpp each sr entry beside its inner codec direct (bpp, PSNR, MS-SSIM, dataset mIoU), and the BD-rate of
each against its inner codec over those targets (PSNR, MS-SSIM, mIoU; pchip, ``codecbench.report.bdrate``).
Means over the frames that met each target (rate control "below"; n says how many).

Run:  python bench/sr_automotive.py      (reads committed outputs only; no compute)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "results" / "automotive-camvid" / "table.csv"
OUT = ROOT / "results" / "sr" / "automotive-camvid.md"
TARGETS = (0.0625, 0.125, 0.25)
PAIRS = (("SR ×0.5 bicubic + JPEG 2000", "JPEG 2000"), ("SR ×0.5 SRCNN + JPEG 2000", "JPEG 2000"),
         ("SR ×0.5 ResCNN + JPEG 2000", "JPEG 2000"),
         ("SR adaptive + JPEG 2000", "JPEG 2000"), ("SR ×0.5 ResCNN + BPG", "BPG"))
METRICS = (("psnr", "PSNR"), ("ms_ssim", "MS-SSIM"), ("miou_dataset", "mIoU"))


def main() -> int:
    import pandas as pd

    from codecbench.report.bdrate import bd

    t = pd.read_csv(TABLE)
    t = t.assign(target=pd.to_numeric(t["target"], errors="coerce"))
    t = t[t["target"].isin(TARGETS)]
    lines = ["# sr around its inner codec, all 233 CamVid test frames (automotive study store)\n",
             "Regenerate: `python bench/automotive_camvid.py` (computes), then `python bench/sr_automotive.py`.\n",
             "| codec | target | n | bpp | PSNR (dB) | MS-SSIM | mIoU % |", "|---|--:|--:|--:|--:|--:|--:|"]
    for label in dict.fromkeys([p for pair in PAIRS for p in pair[::-1]]):
        rows = t[t["codec"] == label].sort_values("target")
        if rows.empty:
            lines.append(f"| {label} | – | not in the store | | | | |")
        for _, r in rows.iterrows():
            lines.append(f"| {label} | {r['target']:g} | {int(r['n'])} | {r['bpp']:.4f} | {r['psnr']:.2f} | "
                         f"{r['ms_ssim']:.4f} | {r['miou_dataset']:.2f} |")
    lines += ["", "BD-rate against the inner codec over 0.0625–0.25 bpp (negative: fewer bits for the same quality):\n",
              "| sr entry | inner | PSNR BD-rate | MS-SSIM BD-rate | mIoU BD-rate | BD-mIoU (points) |",
              "|---|---|--:|--:|--:|--:|"]
    for test, inner in PAIRS:
        a, b = t[t["codec"] == inner].sort_values("bpp"), t[t["codec"] == test].sort_values("bpp")
        if a.empty or b.empty:
            continue
        res = {m: bd((a["bpp"].to_numpy(), a[m].to_numpy()), (b["bpp"].to_numpy(), b[m].to_numpy()),
                     codec=test, anchor_name=inner, metric=m) for m, _ in METRICS}

        def pct(x: float) -> str:
            return "–" if np.isnan(x) else f"{x:+.1f} %"

        lines.append(f"| {test} | {inner} | {pct(res['psnr'].bd_rate)} | {pct(res['ms_ssim'].bd_rate)} | "
                     f"{pct(res['miou_dataset'].bd_rate)} | {res['miou_dataset'].bd_metric:+.2f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
