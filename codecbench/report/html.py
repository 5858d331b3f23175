"""``report.html``: one self-contained page (no network at view time) from a result store.

    write_html("results/kodak", "results/kodak/report.html", browser=browser_images("results/kodak"))

Holds rate–quality curves of every metric (SVG drawn by the page's own script; codecs toggled on and off,
linear or log rate; filled markers = targets every image reached, the plotted default; hollow = targets
only some images reached, with n/N), the tables (means ± std, 95 % intervals, BD with intervals and
per-image BD), the per-image browser (two codecs at one target side by side, swipe or flicker, segmentation
overlay where the store was segmented) and each point's provenance (codec version and effective settings,
knob, encodes, run, commit, time, error). Script and style are package files (``assets/``) inlined into the
page; images are data URIs (see :mod:`codecbench.report.browser`).
"""

from __future__ import annotations

import html
import json
import math
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from codecbench.report import reports
from codecbench.report.colours import colours
from codecbench.report.reports import CURVE_METRICS, METRIC_TITLES
from codecbench.run.point_keys import point_key

PROVENANCE = ("image_id", "status", "bpp", "knob", "encodes", "bytes", "run_id", "git_commit", "time",
              "codecbench_version", "error", "target_bpp", "min_bpp")


def effective_settings(codec_key: str) -> dict[str, Any]:
    """The settings a point was measured with (defaults included), from its codec key ``name@version{json}``."""
    try:
        return json.loads(codec_key[codec_key.index("{"):])
    except (ValueError, TypeError):
        return {}


def _num(x: Any) -> Any:
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return round(x, 6)
    if hasattr(x, "item"):
        return _num(x.item())
    return x


def report_data(points: pd.DataFrame, *, title: str = "", browser: dict | None = None,
                tables: dict[str, str] | None = None, source: str = "") -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    agg = reports.aggregate(points)
    metrics = [m for m in (*CURVE_METRICS[:4], "ssimulacra2", "miou_dataset")
               if m in agg.columns and agg[m].notna().any()]
    codec_names = sorted(dict.fromkeys(agg["codec"]), key=str.lower)
    cols = colours(codec_names)
    n_images = points.groupby("codec")["image_hash"].nunique().to_dict()
    codecs = []
    for c in codec_names:
        g = points[points["codec"] == c].iloc[0]
        codecs.append({"name": c, "colour": cols[c], "codec": g.get("codec_name"), "version": g.get("codec_version"),
                       "library": g.get("library"), "settings": effective_settings(g.get("codec_key", "")),
                       "images": int(n_images.get(c, 0))})
    curves = []
    for _, r in agg.iterrows():
        bad = (r.get("unreachable") or 0) + (r.get("failed") or 0)
        curves.append({"codec": r["codec"], "target": r["target"], "n": _num(r["n"]),
                       "unreachable": _num(r.get("unreachable")), "failed": _num(r.get("failed")),
                       "complete": bool(bad == 0 and r["n"] > 0), "bpp": _num(r["bpp"]),
                       **{m: _num(r.get(m)) for m in metrics}})
    per_point = [m for m in (*reports.METRIC_ORDER, "ssimulacra2") if m in points.columns]
    pts: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for _, p in points.iterrows():
        key = p.get("key")
        if not isinstance(key, str):
            key = point_key(p["image_hash"], p["codec_key"], p["target"])
        index[key] = len(pts)
        row = {"codec": p["codec"], "target": p["target"],
               **{k: _num(p.get(k)) for k in PROVENANCE if k in points.columns},
               "m": {m: v for m in per_point if (v := _num(p.get(m))) is not None}}
        if isinstance(row.get("git_commit"), str):
            row["git_commit"] = row["git_commit"][:12]
        pts.append({k: v for k, v in row.items() if v is not None})
    browser = dict(browser or {"images": {}})
    browser["images"] = {i: {**e, "points": {k: {**v, "i": index[k]} for k, v in e["points"].items() if k in index}}
                         for i, e in browser.get("images", {}).items()}
    return {"title": title, "source": source, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "metrics": [{"name": m, "title": METRIC_TITLES.get(m, m)} for m in metrics],
            "codecs": codecs, "curves": curves, "points": pts, "tables": tables or {}, "browser": browser}


def _asset(name: str) -> str:
    return resources.files("codecbench.report").joinpath("assets", name).read_text(encoding="utf-8")


def render(data: dict[str, Any]) -> str:
    """The page: inlined CSS and JS, the data as a JSON script element."""
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    title = html.escape(data.get("title") or "codecbench report")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title><style>{_asset('report.css')}</style></head>\n<body>"
            f"<script id=\"report-data\" type=\"application/json\">{blob}</script>\n"
            f"<div id=\"app\"></div><script>{_asset('report.js')}</script></body></html>\n")


def markdown_table_html(md: str) -> str:
    """A Markdown pipe table (as written by the reports) with its text lines, as HTML."""
    out: list[str] = []
    rows: list[list[str]] = []

    def flush():
        if rows:
            head, body = rows[0], rows[2:] if len(rows) > 1 else []
            out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr></thead>"
                       "<tbody>" + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                                           for r in body) + "</tbody></table>")
            rows.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            rows.append([c.strip().replace("\\|", "|") for c in line.strip().strip("|").split(" | ")])
        else:
            flush()
            if line.strip():
                text = html.escape(line.lstrip("- ").strip()).replace("**", "")
                out.append(f"<p>{text}</p>")
    flush()
    return "\n".join(out)


def write_html(results: str | Path, out: str | Path, *, title: str = "", browser: dict | None = None,
               tables: dict[str, str] | None = None, points: pd.DataFrame | None = None) -> Path:
    """Write the page for a store; tables: {heading: Markdown} shown in the Tables section. Returns the path."""
    if points is None:
        points = reports.load_points(results)
    if points.empty:
        raise ValueError(f"{results}: the store holds no points")
    data = report_data(points, title=title, browser=browser,
                       tables={k: markdown_table_html(v) for k, v in (tables or {}).items()}, source=str(results))
    text = render(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        from codecbench.atomicio import atomic_write_text
    except ImportError:  # before the reliability branch lands: a plain write
        out.write_text(text, encoding="utf-8")
    else:
        atomic_write_text(out, text)
    return out
