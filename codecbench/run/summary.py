"""What a run planned and did: :class:`Plan`, :class:`RunSummary` and :class:`SkippedCodec` (see
:mod:`codecbench.run.runner`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecbench.run.jobs import Job


@dataclass
class SkippedCodec:
    label: str
    reason: str


@dataclass
class Plan:
    jobs: list[Job]
    skipped: list[SkippedCodec]
    codecs: dict[str, dict[str, Any]]  # label -> codec description
    images: int
    bad: list = field(default_factory=list)  # datasets.BadImage: images that could not be loaded
    ignored: list[str] = field(default_factory=list)  # files a folder dataset does not read ("photos/a.gif")
    image_refs: list = field(default_factory=list)  # the loadable images (ImageRef)


@dataclass
class RunSummary:
    """What a run did. Times in seconds; work_s = Σ (rate control + decode + metric) over computed points."""

    suite: str
    store: Path
    planned: int
    already: int
    computed: int = 0
    ok: int = 0
    unreachable: int = 0
    failed: int = 0
    wall_s: float = 0.0
    work_s: float = 0.0
    workers: int = 1
    executor: str = "local"
    skipped: list[SkippedCodec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bad_images: list[str] = field(default_factory=list)  # "path: reason" of each image that could not be loaded
    ignored: list[str] = field(default_factory=list)
    not_stored: int = 0  # computed but already stored by a concurrent run (never expected with leases)
    waited: int = 0  # points this run found leased by another run and waited for

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.bad_images else 0

    @property
    def ideal_s(self) -> float:
        """Work divided by workers: the wall time of a harness with no overhead."""
        return self.work_s / max(1, self.workers)

    @property
    def overhead(self) -> float | None:
        """(wall − work/workers) / wall: the fraction of wall time not spent coding or measuring."""
        if not self.computed or self.wall_s <= 0:
            return None
        return (self.wall_s - self.ideal_s) / self.wall_s

    def lines(self) -> list[str]:
        out = [f"suite {self.suite}: {self.planned} points planned, {self.already} already in the store, "
               f"{self.computed} computed ({self.ok} ok, {self.unreachable} unreachable, {self.failed} failed)"]
        for s in self.skipped:
            out.append(f"  skipped codec {s.label}: {s.reason}")
        if self.bad_images:
            out.append(f"{len(self.bad_images)} image(s) could not be loaded (recorded as failed, left out):")
            out.extend(f"  BAD IMAGE {b}" for b in self.bad_images[:20])
            if len(self.bad_images) > 20:
                out.append(f"  ... and {len(self.bad_images) - 20} more")
        if self.ignored:
            shown = ", ".join(self.ignored[:10]) + (f" and {len(self.ignored) - 10} more" if len(self.ignored) > 10
                                                    else "")
            out.append(f"{len(self.ignored)} file(s) ignored (not an image extension codecbench reads): {shown}")
        if self.waited:
            out.append(f"{self.waited} point(s) were being computed by another run into this store; "
                       f"this run waited for them and did not compute them")
        if self.not_stored:
            out.append(f"{self.not_stored} computed point(s) were already stored by another run (not counted)")
        if self.computed:
            ov = self.overhead or 0.0
            out.append(
                f"wall {self.wall_s:.1f} s with {self.workers} worker(s) ({self.executor}); "
                f"encode+decode+metric time {self.work_s:.1f} s / {self.workers} = {self.ideal_s:.1f} s; "
                f"harness overhead {self.wall_s - self.ideal_s:.1f} s ({100 * ov:.1f} % of wall)"
            )
        out.extend(self.notes)
        for e in self.errors[:20]:
            out.append(f"  FAILED {e}")
        if len(self.errors) > 20:
            out.append(f"  ... and {len(self.errors) - 20} more failures (see the store's error field)")
        return out
