"""Decoded images for the report's per-image browser: from ``--keep`` artifacts, else re-encoded.

For each chosen image (default: the first ``images`` of the store) and each stored point of it, the decoded image
comes from ``OUT/artifacts/`` when the run kept it (``--keep``; exact), otherwise it is re-encoded from the dataset
image with the stored codec, settings and knob value (the store keeps no bitstreams); the re-encoded stream must
have the stored byte count, else the entry says ``reproduced: false``. Images are cut to one centred crop (default
at most 320×240 px, the same box for every codec, shown at 1:1) and embedded as lossless WebP, so the pixels are
exactly the decoder's. Where the store's points were segmented, the segmenter recorded with them predicts on the
whole decoded frame and the crop of its prediction is embedded as a palette PNG (the overlay).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from codecbench.report.figures import _find_ref, _records, colourise
from codecbench.run.point_keys import point_key
from codecbench.run.store import resolve_store

DEFAULT_IMAGES = 2
DEFAULT_CROP = (320, 240)


def data_uri(image: np.ndarray, *, palette: bool = False) -> str:
    """RGB uint8 H×W×3 as a data URI: lossless WebP (exact pixels), or a PNG when palette (few colours)."""
    from PIL import Image

    buf = io.BytesIO()
    im = Image.fromarray(image, mode="RGB")
    if palette:
        im.quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
            buf, format="PNG", optimize=True)
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    im.save(buf, format="WEBP", lossless=True, quality=100, method=4)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode()


def crop_box(h: int, w: int, crop: tuple[int, int] | None) -> tuple[int, int, int, int]:
    """(y0, x0, height, width) of the centred crop (the whole image when crop is None or larger)."""
    if crop is None:
        return 0, 0, h, w
    cw, ch = min(crop[0], w), min(crop[1], h)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def _artifact(out_dir: Path, rec: dict[str, Any]) -> Path:
    """Where ``--keep`` wrote the decoded PNG of a point (see :func:`codecbench.run.measure.artifact_stem`)."""
    codec_dir = f"{rec['label']}-{hashlib.sha256(rec['codec_key'].encode()).hexdigest()[:8]}"
    safe_id = rec["image_id"].replace("/", "__")
    return out_dir / "artifacts" / codec_dir / rec["dataset"] / f"{safe_id}@{rec['target']}.png"


def _decoded(rec: dict[str, Any], original: np.ndarray, out_dir: Path, codecs: dict) -> tuple[np.ndarray, str, bool]:
    """(decoded image, source, reproduced) of one stored point."""
    path = _artifact(out_dir, rec)
    if path.is_file():
        from codecbench.imageio import load_rgb

        return load_rgb(path), "artifact", True
    from codecbench.codecs import registry

    key = rec["codec_key"]
    if key not in codecs:
        codecs[key] = registry.create(rec["codec"], **(rec.get("settings") or {}))
    data = codecs[key].encode(original, rec.get("knob"))
    return codecs[key].decode(data), "re-encoded", rec.get("bytes") is None or len(data) == rec["bytes"]


def browser_images(results: str | Path, *, images: int | list[str] = DEFAULT_IMAGES,
                   crop: tuple[int, int] | None = DEFAULT_CROP, segment: bool = True,
                   log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """{"crop": [w, h], "images": {image_id: {"original", "truth"?, "box", "points": {point key: entry}}}}
    where entry = {"img": data URI, "seg": data URI or None, "source": "artifact"|"re-encoded",
    "reproduced": bool}. Points are the ok and unreachable ones of each chosen image."""
    from codecbench.datasets import load_image, load_label

    store = resolve_store(results)
    recs, meta = _records(store)
    ids = list(dict.fromkeys(r["image_id"] for r in recs))
    chosen = [i for i in (images if isinstance(images, list) else ids[: max(0, int(images))]) if i in ids]
    seg, seg_desc = None, None
    if segment:
        seg_desc = next((r.get("segmenter") for r in recs if r.get("segmenter")), None)
        suite_seg = (meta.get("suite") or {}).get("segmenter")
        if seg_desc and suite_seg:
            from codecbench.metrics.segmenters import registry as segreg

            try:
                seg = segreg.create(suite_seg["name"], **(suite_seg.get("options") or {}))
            except Exception as exc:  # no weights here: the browser shows images without overlays
                (log or (lambda s: None))(f"segmentation overlay skipped: {exc}")
    out: dict[str, Any] = {"crop": list(crop) if crop else None, "images": {}}
    codecs: dict[str, Any] = {}
    for image_id in chosen:
        mine = [r for r in recs if r["image_id"] == image_id]
        ref = _find_ref(meta, mine[0])
        original = load_image(ref)
        h, w = original.shape[:2]
        y0, x0, ch, cw = crop_box(h, w, crop)

        def cut(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a[y0:y0 + ch, x0:x0 + cw])

        entry: dict[str, Any] = {"original": data_uri(cut(original)), "box": [x0, y0, cw, ch],
                                 "size": [int(original.shape[1]), int(original.shape[0])], "points": {}}
        frames, keys = [], []
        for rec in mine:
            try:
                decoded, source, same = _decoded(rec, original, store.parent, codecs)
            except Exception as exc:  # an unavailable codec here: the point stays in tables, not in the browser
                (log or (lambda s: None))(f"{rec['label']} {image_id} @ {rec['target']}: not shown ({exc})")
                continue
            key = rec.get("key") or point_key(rec["image_hash"], rec["codec_key"], rec["target"])
            entry["points"][key] = {"img": data_uri(cut(decoded)), "seg": None, "source": source,
                                           "reproduced": bool(same)}
            frames.append(decoded)
            keys.append(key)
        if seg is not None:
            preds = [seg.predict(f[None])[0] for f in [original, *frames]]
            names = seg.class_names
            entry["seg_original"] = data_uri(cut(colourise(preds[0], seg.num_classes, names)), palette=True)
            if ref.label_path:
                entry["truth"] = data_uri(cut(colourise(load_label(ref), seg.num_classes, names)), palette=True)
            for k, p in zip(keys, preds[1:]):
                entry["points"][k]["seg"] = data_uri(cut(colourise(p, seg.num_classes, names)), palette=True)
        out["images"][image_id] = entry
    if seg is not None:
        out["segmenter"] = seg_desc.get("name") if isinstance(seg_desc, dict) else str(seg_desc)
    return out


def size_of(browser: dict[str, Any]) -> int:
    """Bytes of the embedded data URIs (for the size report)."""
    n = 0
    for e in browser.get("images", {}).values():
        n += sum(len(v) for k, v in e.items() if isinstance(v, str))
        n += sum(len(p["img"]) + len(p["seg"] or "") for p in e["points"].values())
    return n if not math.isnan(n) else 0
