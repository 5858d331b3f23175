"""The data model of a validated suite (:class:`Suite` and its entries); parsing is in :mod:`codecbench.run.suite`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SUITE = "quick"
MODES = ("below", "nearest")
BAD_IMAGE_POLICIES = ("skip", "fail")
DEFAULT_METRICS = ("psnr", "psnr_y", "ssim", "ms_ssim")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    root: str | None = None
    split: str | None = None
    limit: int | None = None
    stride: int | None = None  # keep every stride-th image (after limit), e.g. a documented subset of a split


@dataclass(frozen=True)
class CodecEntry:
    name: str
    label: str
    settings: dict[str, Any] = field(default_factory=dict)
    required: bool = False
    knobs: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SegmenterSpec:
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmenterEntry:
    """One of a suite's ``[[segmenters]]``: a label (unique) and a registry name with its options."""

    label: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suite:
    """A validated suite. targets: bpp list (sorted ascending), empty when every codec sweeps its knob."""

    name: str
    path: Path | None
    datasets: list[DatasetSpec]
    codecs: list[CodecEntry]
    targets: tuple[float, ...]
    metrics: tuple[str, ...] = DEFAULT_METRICS
    precision: str = "float32"  # of SSIM and MS-SSIM (codecbench.metrics.fidelity.PRECISIONS)
    segmenter: SegmenterSpec | None = None
    mode: str = "below"
    device: str = "cpu"
    workers: int = 1
    executor: str = "local"
    executor_options: dict[str, Any] = field(default_factory=dict)  # from [executor], e.g. scheduler
    output: str = "runs/default"
    timeout: float | None = 600.0
    keep: bool = False
    anchor: str | None = None
    description: str = ""
    segmenters: list[SegmenterEntry] = field(default_factory=list)  # [[segmenters]]; segmenter = the first
    on_bad_image: str = "skip"  # "skip": record an unreadable image as failed and go on; "fail": stop the run
    max_pixels: int | None = None  # None: codecbench.imageio's default (100 MP or $CODECBENCH_MAX_PIXELS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path) if self.path else None,
            "datasets": [vars(d) for d in self.datasets],
            "codecs": [{**vars(c), "knobs": list(c.knobs) if c.knobs else None} for c in self.codecs],
            "targets": list(self.targets),
            "metrics": list(self.metrics),
            "precision": self.precision,
            "segmenter": vars(self.segmenter) if self.segmenter else None,
            "mode": self.mode,
            "device": self.device,
            "workers": self.workers,
            "executor": self.executor,
            "executor_options": dict(self.executor_options),
            "output": self.output,
            "timeout": self.timeout,
            "keep": self.keep,
            "anchor": self.anchor,
            **({"segmenters": [vars(e) for e in self.segmenters]} if self.segmenters else {}),
            "on_bad_image": self.on_bad_image,
            "max_pixels": self.max_pixels,
        }
