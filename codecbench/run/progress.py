"""The progress bar of a run: tqdm on stderr with points/s and ETA, plus a running count of failures."""

from __future__ import annotations

import sys
from typing import Any, Mapping

from codecbench.run.record import PointRecord


class Progress:
    """Counts finished points; shows ok/unreachable/failed in the bar's postfix. enabled=False shows nothing."""

    def __init__(self, total: int, *, enabled: bool = True, desc: str = "points"):
        from tqdm import tqdm

        self.counts = {"ok": 0, "unreachable": 0, "error": 0}
        self._bar = tqdm(total=total, desc=desc, unit="pt", file=sys.stderr, disable=not enabled or total == 0,
                         dynamic_ncols=True, smoothing=0.1)

    def update(self, record: Mapping[str, Any] | PointRecord) -> None:
        status = record.get("status", "error")
        self.counts[status] = self.counts.get(status, 0) + 1
        self._bar.set_postfix(failed=self.counts["error"], unreachable=self.counts["unreachable"], refresh=False)
        self._bar.update(1)

    def write(self, line: str) -> None:
        self._bar.write(line, file=sys.stderr)

    def close(self) -> None:
        self._bar.close()
