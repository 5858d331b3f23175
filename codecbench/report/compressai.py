"""CompressAI-style result JSON: read as reference curves, and export ours in that shape.

The shape (as written by CompressAI's ``compressai.utils.eval_model``)::

    {"name": "bmshj2018-factorized", "description": "...",
     "results": {"bpp": [0.12, 0.25, ...], "psnr-rgb": [27.1, 29.0, ...], "ms-ssim-rgb": [0.93, ...]}}

Key mapping to codecbench metrics: psnr-rgb (or psnr) → psnr, psnr-y → psnr_y, ms-ssim-rgb (or ms-ssim) →
ms_ssim, ssim-rgb (or ssim) → ssim, miou → miou_dataset. Other keys are ignored. PSNR in dB, (MS-)SSIM on 0–1,
mIoU in percent, rates in bpp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from codecbench.errors import BadInput, CodecbenchError
from codecbench.report.jsonfile import read_json

TO_OURS = {
    "psnr-rgb": "psnr", "psnr": "psnr", "psnr-y": "psnr_y", "ms-ssim-rgb": "ms_ssim", "ms-ssim": "ms_ssim",
    "ssim-rgb": "ssim", "ssim": "ssim", "miou": "miou_dataset",
}  # fmt: skip
TO_THEIRS = {"psnr": "psnr-rgb", "psnr_y": "psnr-y", "ssim": "ssim-rgb", "ms_ssim": "ms-ssim-rgb",
             "miou_dataset": "miou"}


class ReferenceCurveError(CodecbenchError, ValueError):
    """A reference JSON file is malformed; the message names the file and the problem."""


@dataclass
class Reference:
    """A reference curve: name, bpp list and metric lists (codecbench metric names)."""

    name: str
    bpp: list[float]
    metrics: dict[str, list[float]]
    source: str = ""

    def as_aggregate(self) -> pd.DataFrame:
        """Rows shaped like :func:`codecbench.report.reports.aggregate` output (n = NaN marks a reference)."""
        rows = []
        for i, b in enumerate(self.bpp):
            row = {"codec": self.name, "target": f"ref{i}", "target_bpp": math.nan, "n": math.nan,
                   "unreachable": math.nan, "failed": math.nan, "bpp": float(b)}
            row.update({m: float(v[i]) for m, v in self.metrics.items()})
            rows.append(row)
        return pd.DataFrame(rows)


def read_reference(path: str | Path, name: str | None = None) -> Reference:
    """Read a CompressAI-style JSON file (name overrides the file's "name")."""
    path = Path(path)
    data = read_json(path, ReferenceCurveError, "reference")
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ReferenceCurveError(f"{path}: expected an object with a 'results' object (CompressAI format)")
    res = data["results"]
    if not isinstance(res.get("bpp"), list) or not res["bpp"]:
        raise ReferenceCurveError(f"{path}: 'results.bpp' must be a non-empty list of numbers")
    n = len(res["bpp"])
    metrics: dict[str, list[float]] = {}
    for key, ours in TO_OURS.items():
        if key in res and ours not in metrics:
            vals = res[key]
            if not isinstance(vals, list) or len(vals) != n:
                raise ReferenceCurveError(f"{path}: 'results.{key}' must be a list of {n} numbers like 'bpp'")
            try:
                metrics[ours] = [float(v) for v in vals]
            except (TypeError, ValueError):
                raise ReferenceCurveError(f"{path}: 'results.{key}' holds a non-number") from None
    if not metrics:
        raise ReferenceCurveError(f"{path}: no known metric in 'results' (expected one of {', '.join(TO_OURS)})")
    try:
        bpp = [float(v) for v in res["bpp"]]
    except (TypeError, ValueError):
        raise ReferenceCurveError(f"{path}: 'results.bpp' holds a non-number") from None
    return Reference(name or str(data.get("name") or path.stem), bpp, metrics, str(path))


def export(agg: pd.DataFrame, codec: str, description: str = "") -> dict:
    """One codec's aggregated curve (targets with ok points, sorted by bpp) as a CompressAI-style dict."""
    g = agg[(agg["codec"] == codec) & (agg["n"] > 0)].sort_values("bpp")
    if g.empty:
        raise BadInput(f"no results for codec {codec!r}")
    results = {"bpp": [float(b) for b in g["bpp"]]}
    for ours, theirs in TO_THEIRS.items():
        if ours in g.columns and g[ours].notna().all():
            results[theirs] = [float(v) for v in g[ours]]
    return {"name": codec, "description": description or f"codecbench {codec}: means per target bpp",
            "results": results}
