"""CI regression gate: compare a run's aggregated results with a committed baseline.

The baseline (JSON, written by :func:`baseline_from`) holds, per (codec, target), n and the mean of bpp and
every metric. :func:`compare` flags, per (codec, target, metric):
- ``regression``: quality lower than baseline − tolerance, or bpp higher than baseline × (1 + tolerance),
  or a (codec, target) of the baseline missing from the run, or fewer points (n) than the baseline;
- ``improved``: beyond the tolerance the other way (reported, not a failure; refresh the baseline);
- ``ok``: within tolerance.
Tolerances are absolute in the metric's units (dB for PSNR, 0–1 for (MS-)SSIM, percentage points for mIoU)
except ``bpp``, which is relative (0.02 = 2 %).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from codecbench.atomicio import atomic_write_text
from codecbench.errors import BadInput, CodecbenchError
from codecbench.report.jsonfile import read_json
from codecbench.report.tolerances import DEFAULT_TOLERANCES

BASELINE_FORMAT = "codecbench-baseline/1"
CHECKED = tuple(DEFAULT_TOLERANCES)


class BaselineError(CodecbenchError, ValueError):
    """A baseline file is missing or malformed; the message names the file."""


@dataclass
class Delta:
    codec: str
    target: str
    metric: str
    baseline: float | None
    current: float | None
    tolerance: float | None
    status: str  # ok | regression | improved | missing | new

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


def baseline_from(agg: pd.DataFrame, suite: str = "") -> dict[str, Any]:
    """A baseline document from an aggregated table (rows with n > 0)."""
    points = []
    for _, r in agg.iterrows():
        if pd.isna(r["n"]):
            continue
        p = {"codec": r["codec"], "target": str(r["target"]), "n": int(r["n"])}
        for m in CHECKED:
            if m in r and not pd.isna(r[m]):
                p[m] = float(r[m])
        points.append(p)
    return {"format": BASELINE_FORMAT, "suite": suite, "points": points}


def write_baseline(doc: dict[str, Any], path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(doc, indent=1, allow_nan=True) + "\n")


def read_baseline(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    doc = read_json(path, BaselineError, "baseline")
    if not isinstance(doc, dict) or doc.get("format") != BASELINE_FORMAT or not isinstance(doc.get("points"), list):
        raise BaselineError(f"{path}: not a codecbench baseline (expected format {BASELINE_FORMAT!r} and 'points')")
    for i, p in enumerate(doc["points"]):
        if not isinstance(p, dict) or "codec" not in p or "target" not in p:
            raise BaselineError(f"{path}: points[{i}] lacks 'codec' or 'target'")
    return doc


def parse_tolerances(items: list[str] | None) -> dict[str, float]:
    """``["psnr=0.2", "bpp=0.05"]`` → defaults updated; ValueError names a bad item."""
    tol = dict(DEFAULT_TOLERANCES)
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise BadInput(f"tolerance {item!r}: expected METRIC=VALUE")
        try:
            v = float(value)
        except ValueError:
            raise BadInput(f"tolerance {item!r}: {value!r} is not a number") from None
        if v < 0:
            raise BadInput(f"tolerance {item!r}: must be ≥ 0")
        tol[name.strip()] = v
    return tol


def compare(agg: pd.DataFrame, baseline: dict[str, Any], tolerances: dict[str, float] | None = None
            ) -> list[Delta]:
    """Every (codec, target, metric) of the baseline compared with the run (plus new points, as 'new')."""
    tol = tolerances or DEFAULT_TOLERANCES
    current = {(r["codec"], str(r["target"])): r for _, r in agg.iterrows() if not pd.isna(r["n"])}
    out: list[Delta] = []
    seen = set()
    for p in baseline["points"]:
        key = (p["codec"], str(p["target"]))
        seen.add(key)
        row = current.get(key)
        if row is None:
            out.append(Delta(*key, "point", None, None, None, "missing"))
            continue
        if int(row["n"]) < int(p.get("n", 0)):
            out.append(Delta(*key, "n", float(p["n"]), float(row["n"]), 0.0, "missing"))
        for m, base in p.items():
            if m not in tol:
                continue
            now = row.get(m, math.nan)
            now = None if now is None or pd.isna(now) else float(now)
            base = float(base)
            if now is None:
                out.append(Delta(*key, m, base, None, tol[m], "missing"))
                continue
            out.append(Delta(*key, m, base, now, tol[m], _judge(m, base, now, tol[m])))
    for key, row in current.items():
        if key not in seen:
            out.append(Delta(*key, "point", None, None, None, "new"))
    return out


def _judge(metric: str, base: float, now: float, tol: float) -> str:
    if math.isinf(base) and math.isinf(now) and base == now:
        return "ok"
    if metric == "bpp":  # higher rate at the same target is worse; relative tolerance
        if now > base * (1 + tol):
            return "regression"
        return "improved" if now < base * (1 - tol) else "ok"
    if now < base - tol:
        return "regression"
    return "improved" if now > base + tol else "ok"


def failed(deltas: list[Delta]) -> bool:
    return any(d.status in ("regression", "missing") for d in deltas)


def report(deltas: list[Delta], *, all_rows: bool = False) -> str:
    """A Markdown table of what moved (or of everything with all_rows) and a one-line verdict."""
    rows = [d for d in deltas if all_rows or d.status != "ok"]
    counts = {s: sum(d.status == s for d in deltas) for s in ("ok", "regression", "missing", "improved", "new")}
    lines = []
    if rows:
        lines += ["| status | codec | target | metric | baseline | current | change | tolerance |",
                  "|---|---|---|---|--:|--:|--:|--:|"]
        for d in rows:
            ch = d.change
            tol = ("" if d.tolerance is None
                   else (f"{100 * d.tolerance:g} %" if d.metric == "bpp" else f"{d.tolerance:g}"))
            lines.append(f"| {d.status.upper() if d.status in ('regression', 'missing') else d.status} | {d.codec} "
                         f"| {d.target} | {d.metric} | {_f(d.baseline)} | {_f(d.current)} | "
                         f"{'' if ch is None else f'{ch:+.4g}'} | {tol} |")
        lines.append("")
    verdict = "FAIL" if failed(deltas) else "PASS"
    lines.append(f"{verdict}: {counts['ok']} within tolerance, {counts['regression']} regressed, "
                 f"{counts['missing']} missing, {counts['improved']} improved, {counts['new']} new")
    return "\n".join(lines) + "\n"


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.5g}"
