"""Codec colours that stay the same in every plot and report: a fixed colour per known codec family, a
hash-chosen one (stable across runs and processes) for any other label."""

from __future__ import annotations

import hashlib
import re

# matplotlib's tab10 plus a few, by codec family (label lower-cased, spaces/dashes/underscores removed).
FAMILY = {
    "jpeg": "#1f77b4", "webp": "#ff7f0e", "jpeg2000": "#2ca02c", "heic": "#d62728", "avif": "#9467bd",
    "jpegxl": "#8c564b", "bpg": "#e377c2", "gan": "#7f7f7f", "downpng": "#bcbd22",
}  # fmt: skip
EXTRA = ("#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#bd9e39", "#6b6ecf", "#e7ba52",
         "#a55194", "#5254a3", "#8ca252", "#9c9ede", "#e7969c", "#6baed6", "#fd8d3c",
         "#74c476", "#9e9ac8", "#969696", "#de9ed6", "#525252")  # none equal to a family colour


def _norm(label: str) -> str:
    return re.sub(r"[\s_\-]+", "", label.lower())


def colour(label: str) -> str:
    """The colour (#rrggbb) of a codec label: its family's if the label is a family name, else from a hash."""
    key = _norm(label)
    if key in FAMILY:
        return FAMILY[key]
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    return EXTRA[int.from_bytes(digest[:4], "big") % len(EXTRA)]


def colours(labels) -> dict[str, str]:
    return {lab: colour(lab) for lab in labels}
