"""The committed BPG qp sweep on Kodak (results/kodak-bpg-444/, suite codecbench/suites/kodak-bpg-444.toml) against
CompressAI's published BPG curve (../shared/references/compressai-kodak/bpg_444_x265_ycbcr.json).

CompressAI's file stores no qp values; ../shared/references/README.md states them, and this test reads them
from there (the reference data stays in ../shared; skipped where it is absent). Goal at equal qp, means over
the 24 images: |ΔPSNR| ≤ 0.01 dB and |Δbpp| ≤ 0.1 %; MS-SSIM within 1e-4.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from codecbench.paths import ENV_VAR, shared_path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "results" / "kodak-bpg-444" / "points.csv"
REFS = shared_path("references")
CURVE = "bpg_444_x265_ycbcr.json"
PSNR_DB, BPP_REL, MSSSIM_ABS = 0.01, 0.001, 1e-4


def reference_qps() -> list[int]:
    """The qp list the references README states for CompressAI's BPG curve, in the file's order."""
    readme = REFS / "README.md"
    line = next((ln for ln in readme.read_text(encoding="utf-8").splitlines() if CURVE in ln), None)
    assert line, f"{readme} does not mention {CURVE}"
    found = re.search(r"qp ((?:\d+,\s*)+\d+)", line)
    assert found, f"{readme}: no qp list on the {CURVE} line"
    return [int(q) for q in found.group(1).split(",")]


def measured() -> dict[int, dict[str, float]]:
    """Mean bpp, PSNR, MS-SSIM per qp over the ok points of the committed sweep (and n)."""
    sums: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with open(RESULT, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            assert row["status"] == "ok", f"{RESULT}: {row['image_id']} qp {row['knob']}: {row['error']}"
            qp = int(float(row["knob"]))
            for key in ("bpp", "psnr", "ms_ssim"):
                sums[qp][key].append(float(row[key]))
    return {qp: {k: sum(v) / len(v) for k, v in cols.items()} | {"n": len(cols["bpp"])} for qp, cols in sums.items()}


needs_refs = pytest.mark.skipif(not (REFS / "compressai-kodak" / CURVE).is_file(),
                                reason=f"{REFS / 'compressai-kodak' / CURVE} absent: set {ENV_VAR}")


@needs_refs
def test_suite_sweeps_the_reference_qps():
    import tomllib

    suite = tomllib.loads((ROOT / "codecbench" / "suites" / "kodak-bpg-444.toml").read_text(encoding="utf-8"))
    (entry,) = suite["codecs"]
    assert entry["name"] == "bpg" and [int(k) for k in entry["knobs"]] == reference_qps()
    assert entry["settings"] == {"chroma": "444", "color_space": "ycbcr", "bit_depth": 8, "encoder": "x265",
                                 "level": 8}


@needs_refs
def test_kodak_bpg_444_matches_compressai():
    ref = json.loads((REFS / "compressai-kodak" / CURVE).read_text(encoding="utf-8"))["results"]
    ours = measured()
    qps = reference_qps()
    assert sorted(ours) == sorted(qps) and all(ours[q]["n"] == 24 for q in qps)
    for i, qp in enumerate(qps):
        m = ours[qp]
        d_psnr = m["psnr"] - ref["psnr-rgb"][i]
        d_bpp = m["bpp"] / ref["bpp"][i] - 1
        d_ms = m["ms_ssim"] - ref["ms-ssim-rgb"][i]
        assert abs(d_psnr) <= PSNR_DB, f"qp {qp}: PSNR {m['psnr']:.4f} vs {ref['psnr-rgb'][i]:.4f} dB"
        assert abs(d_bpp) <= BPP_REL, f"qp {qp}: bpp {m['bpp']:.5f} vs {ref['bpp'][i]:.5f} ({100 * d_bpp:+.3f} %)"
        assert abs(d_ms) <= MSSSIM_ABS, f"qp {qp}: MS-SSIM {m['ms_ssim']:.6f} vs {ref['ms-ssim-rgb'][i]:.6f}"
