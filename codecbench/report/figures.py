"""The same frame decoded by each codec of a result store, side by side (PNG), optionally with a segmenter's
prediction under each decoded frame.

    panels = frame_panels("results/automotive-camvid", image_id="0001TP_008550", target=0.0625)
    write_frame_figure(panels, "results/automotive-camvid/frames_0.0625.png", segmenter="espnet")

Generic: for every codec label in the store, the stored point of that image at the target (a fixed-rate codec's
single point, e.g. a GAN checkpoint, whatever the target) is re-encoded through the codec registry with the
stored codec name, settings and knob, so nothing but the store and the dataset is needed. The re-encoded stream
is checked against the stored byte count (a mismatch is flagged on the panel: the codec or its version changed).
An ``unreachable`` point (the codec's lowest rate is above the target) is shown at that lowest rate and says so.
Captions give the achieved bpp, PSNR (dB) and the per-image mIoU (%) from the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from codecbench.atomicio import atomic_savefig
from codecbench.datasets import CAMVID_CLASSES, ImageRef, load_dataset, load_image, load_label
from codecbench.errors import CodecbenchError
from codecbench.run.point_keys import target_key
from codecbench.run.store import Store

# SegNet's CamVid colours (RGB) for the 11 classes, then black for void / ignored.
CAMVID_COLOURS = np.array(
    [[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [60, 40, 222], [128, 128, 0],
     [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0], [0, 128, 192], [0, 0, 0]], dtype=np.uint8,
)  # fmt: skip


class FigureError(CodecbenchError, ValueError):
    """The store holds no point for the requested image/target; the message names the store and what is missing."""


@dataclass
class Panel:
    """One decoded frame. image: RGB uint8 H×W×3; record: the stored point it reproduces (None for the original)."""

    title: str
    image: np.ndarray
    record: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    prediction: np.ndarray | None = None  # int64 H×W class ids, filled by write_frame_figure(segmenter=...)
    ref: ImageRef | None = None  # the dataset image (set on the original's panel)

    @property
    def caption(self) -> str:
        r = self.record
        if r is None:
            return self.title
        m = r.get("metrics") or {}
        parts = [f"{r['bpp']:.4f} bpp"]
        if m.get("psnr") is not None and math.isfinite(m["psnr"]):
            parts.append(f"{m['psnr']:.2f} dB")
        if m.get("miou") is not None:
            parts.append(f"mIoU {m['miou']:.1f} %")
        return self.title + "\n" + " · ".join(parts) + "".join(f"\n{n}" for n in self.notes)


def _records(store: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with Store(store, read_only=True) as db:
        return list(db.records(status=("ok", "unreachable"))), db.meta()


def _find_ref(meta: dict[str, Any], rec: dict[str, Any]) -> ImageRef:
    """The ImageRef of a stored point: searched in the datasets of the suite that made the store."""
    suite = meta.get("suite") or {}
    for ds in suite.get("datasets") or [{"name": rec["dataset"]}]:
        if ds.get("name") != rec["dataset"]:
            continue
        dataset = load_dataset(ds["name"], root=ds.get("root"), split=ds.get("split"))
        for ref in dataset.images:
            if ref.id == rec["image_id"] and ref.hash == rec["image_hash"]:
                return ref
    raise FigureError(f"image {rec['dataset']}/{rec['image_id']} (hash {rec['image_hash']}) not found in the "
                      "datasets of the suite recorded in the store")


def frame_panels(store: str | Path, image_id: str | None = None, target: float = 0.0625,
                 labels: Iterable[str] | None = None) -> list[Panel]:
    """The original frame, then one panel per codec label (store order, or ``labels`` order), re-encoded.

    image_id: defaults to the first image of the store. target: bpp target of rate-controlled codecs; fixed-rate
    codecs contribute their single point. Raises FigureError when the image or a requested label has no point.
    """
    from codecbench.codecs import registry

    recs, meta = _records(store)
    if not recs:
        raise FigureError(f"{store}: the store holds no ok/unreachable point")
    image_id = image_id or recs[0]["image_id"]
    mine = [r for r in recs if r["image_id"] == image_id]
    if not mine:
        raise FigureError(f"{store}: no point for image {image_id!r} (stored images: "
                          f"{', '.join(list(dict.fromkeys(r['image_id'] for r in recs))[:8])}, ...)")
    want = target_key(target)
    by_label: dict[str, dict[str, Any]] = {}
    for r in mine:
        if r["target"] in (want, "fixed"):
            by_label.setdefault(r["label"], r)
    order = list(labels) if labels is not None else list(dict.fromkeys(r["label"] for r in recs))
    missing = [lab for lab in order if lab not in by_label]
    if (labels is not None and missing) or not by_label:
        raise FigureError(f"{store}: no point of image {image_id!r} at {target:g} bpp for "
                          f"{', '.join(missing or order)}")

    ref = _find_ref(meta, mine[0])
    original = load_image(ref)
    panels = [Panel(f"original ({ref.dataset}/{ref.id})", original, ref=ref)]
    for lab in order:
        rec = by_label.get(lab)
        if rec is None:
            continue
        codec = registry.create(rec["codec"], **(rec.get("settings") or {}))
        data = codec.encode(original, rec.get("knob"))
        panel = Panel(lab, codec.decode(data), rec)
        if rec.get("status") == "unreachable":
            panel.notes.append(f"lowest rate, above the {target:g} bpp target")
        if rec.get("bytes") is not None and len(data) != rec["bytes"]:
            panel.notes.append(f"re-encode: {len(data)} B, stored {rec['bytes']} B")
        panels.append(panel)
    return panels


def colourise(labels: np.ndarray, num_classes: int, class_names: Iterable[str] | None = None) -> np.ndarray:
    """Class-id map (int H×W) to RGB uint8: SegNet's colours for CamVid's 11 classes, else matplotlib's tab20;
    ids outside 0..num_classes-1 (void / ignored) are black."""
    if tuple(class_names or ()) == CAMVID_CLASSES:
        palette = CAMVID_COLOURS[:num_classes]
    else:
        import matplotlib

        cmap = matplotlib.colormaps["tab20"]
        palette = (np.array([cmap(i % 20)[:3] for i in range(num_classes)]) * 255).astype(np.uint8)
    out = np.zeros(labels.shape + (3,), dtype=np.uint8)
    valid = (labels >= 0) & (labels < num_classes)
    out[valid] = palette[labels[valid]]
    return out


def write_frame_figure(panels: list[Panel], out: str | Path, *, segmenter: str | None = None,
                       segmenter_options: dict[str, Any] | None = None, columns: int = 4,
                       title: str | None = None, dpi: int = 110) -> Path:
    """Draw the panels in a grid (PNG). With a segmenter, each decoded frame gets its prediction below it and the
    original gets the ground truth (where the dataset has labels). Returns the path written."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    seg = None
    if segmenter:
        from codecbench.metrics.segmenters import registry as segreg

        seg = segreg.create(segmenter, **(segmenter_options or {}))
        preds = seg.predict(np.stack([p.image for p in panels]))
        for p, pred in zip(panels, preds):
            p.prediction = pred
    truth = None
    ref = panels[0].ref
    if seg is not None and ref is not None and ref.label_path:
        truth = load_label(ref)

    rows_per = 2 if seg is not None else 1
    n = len(panels)
    cols = min(columns, n)
    grid_rows = math.ceil(n / cols)
    h, w = panels[0].image.shape[:2]
    cell_w = 3.6
    cell_h = cell_w * h / w + 0.55
    fig, axes = plt.subplots(grid_rows * rows_per, cols, figsize=(cell_w * cols, cell_h * grid_rows * rows_per),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, p in enumerate(panels):
        r, c = divmod(i, cols)
        ax = axes[r * rows_per][c]
        ax.imshow(p.image, interpolation="nearest")
        ax.set_title(p.caption, fontsize=7.5)
        if seg is not None:
            ax2 = axes[r * rows_per + 1][c]
            if i == 0 and truth is not None and p.prediction is not None:
                ax2.imshow(colourise(truth, seg.num_classes, seg.class_names), interpolation="nearest")
                ax2.set_title(f"ground truth (black = void); {seg.name} on the original:\n"
                              f"mIoU {_miou(p.prediction, truth, seg):.1f} %", fontsize=7.5)
            elif p.prediction is not None:
                ax2.imshow(colourise(p.prediction, seg.num_classes, seg.class_names), interpolation="nearest")
                ax2.set_title(f"{seg.name} on {p.title}" if i else f"{seg.name} on the original", fontsize=7.5)
    fig_h = cell_h * grid_rows * rows_per
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.4 / fig_h if title else 0)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_savefig(fig, out, dpi=dpi)
    plt.close(fig)
    return out


def _miou(pred: np.ndarray, truth: np.ndarray, seg: Any) -> float:
    """Per-image mIoU (%) with the segmenter registry's protocol (void answers count as misses)."""
    from codecbench.metrics.segmenters import registry as segreg

    return float(segreg.scores(segreg.confusion(pred, truth, seg.num_classes, seg.ignore_index)).miou)
