"""BPG figures on Kodak from the committed results: the 4:4:4 qp sweep against CompressAI's curve, and rate
control on the kodak suite.

    python bench/bpg_kodak_figures.py      # prints both tables, writes results/kodak-bpg-444/compare.md

1. results/kodak-bpg-444/points.csv (suite kodak-bpg-444): per qp the mean over the 24 images of bpp, PSNR
   (dB) and MS-SSIM, and the difference from CompressAI's published curve
   (../shared/references/compressai-kodak/bpg_444_x265_ycbcr.json, qp order from ../shared/references/README.md;
   only our values and the differences are written, the reference itself stays in ../shared).
2. results/kodak/store.sqlite, label "bpg" (suite kodak, rate control mode "below", default BPG settings): per
   target the points, how many reached it, encodes per point (mean, max), mean bpp/target and how many landed
   within 5 % below the target.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def sweep_rows() -> list[dict]:
    from test_kodak_bpg_444 import CURVE, REFS, measured, reference_qps

    ours = measured()
    ref_file = REFS / "compressai-kodak" / CURVE
    ref = json.loads(ref_file.read_text(encoding="utf-8"))["results"] if ref_file.is_file() else None
    qps = reference_qps() if ref else sorted(ours, reverse=True)
    rows = []
    for i, qp in enumerate(qps):
        m = ours[qp]
        row = {"qp": qp, "n": m["n"], "bpp": m["bpp"], "psnr": m["psnr"], "ms_ssim": m["ms_ssim"]}
        if ref:
            row.update(d_psnr=m["psnr"] - ref["psnr-rgb"][i], d_bpp_pct=100 * (m["bpp"] / ref["bpp"][i] - 1),
                       d_ms_ssim=m["ms_ssim"] - ref["ms-ssim-rgb"][i])
        rows.append(row)
    return rows


def ratecontrol_rows(store: Path, label: str = "bpg") -> list[dict]:
    """Per target: counts, encodes, bpp/target; `step` = points outside the 5 % window whose next qp (one lower,
    also encoded by the search) is above the target, i.e. misses explained by the integer knob."""
    from codecbench.run.store import Store

    by_target: dict[float, list[dict]] = defaultdict(list)
    with Store(store, read_only=True) as db:
        for r in db.records():
            if r.get("label") == label:
                by_target[float(r["target_bpp"])].append(r)
    rows = []
    for t, pts in sorted(by_target.items()):
        ok = [p for p in pts if p["status"] == "ok"]
        enc = [int(p["encodes"]) for p in pts]
        ratio = [p["bpp"] / t for p in ok]
        step = 0
        for p in ok:
            if not 0.95 <= p["bpp"] / t <= 1:
                trials = {int(k): b for k, b in p["trials"]}
                step += trials.get(int(p["knob"]) - 1, 0) > t
        rows.append({"target": t, "points": len(pts), "reached": len(ok), "mean_encodes": sum(enc) / len(enc),
                     "max_encodes": max(enc), "mean_ratio": sum(ratio) / len(ratio) if ratio else float("nan"),
                     "min_ratio": min(ratio) if ratio else float("nan"),
                     "within_5pct": sum(0.95 <= x <= 1 for x in ratio), "step": step})
    return rows


def main() -> int:
    lines = ["# BPG 4:4:4 qp sweep on Kodak vs CompressAI's published curve", "",
             "Written by `bench/bpg_kodak_figures.py` from `points.csv`. Means over the 24 images; Δ = ours − "
             "CompressAI (`bpg_444_x265_ycbcr.json`, read from ../shared/references at run time).", "",
             "| qp | n | bpp | PSNR (dB) | MS-SSIM | ΔPSNR (dB) | Δbpp (%) | ΔMS-SSIM |",
             "|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in sweep_rows():
        d = (f"{r['d_psnr']:+.4f} | {r['d_bpp_pct']:+.4f} | {r['d_ms_ssim']:+.6f}" if "d_psnr" in r
             else "– | – | –")
        lines.append(f"| {r['qp']} | {r['n']} | {r['bpp']:.4f} | {r['psnr']:.3f} | {r['ms_ssim']:.5f} | {d} |")
    rc = ratecontrol_rows(ROOT / "results" / "kodak" / "store.sqlite")
    if rc:
        lines += ["", "## Rate control on BPG (suite kodak: default settings 4:2:0 x265 level 8, mode \"below\")", "",
                  "| target bpp | points | reached | mean encodes | max encodes | mean bpp/target | min bpp/target "
                  "| within 5 % below | other misses: next qp above target |", "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for r in rc:
            lines.append(f"| {r['target']:g} | {r['points']} | {r['reached']} | {r['mean_encodes']:.2f} | "
                         f"{r['max_encodes']} | {r['mean_ratio']:.3f} | {r['min_ratio']:.3f} | {r['within_5pct']} | "
                         f"{r['step']} |")
    text = "\n".join(lines) + "\n"
    (ROOT / "results" / "kodak-bpg-444" / "compare.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
