"""Shared by the report commands: read a store's points (and reference curves) or say why not."""

from __future__ import annotations

import sys
from typing import Sequence


class ResultsUnavailable(Exception):
    """Reading RESULTS failed; ``code`` is the exit status (2: unreadable, 1: empty)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def load_results(prog: str, results: str, reference_files: Sequence[str] = ()):
    """(points DataFrame, reference curves) of a store; prints the problem to stderr and raises
    ResultsUnavailable when the store cannot be read, a reference is invalid, or there are no points."""
    from codecbench.bench import reports
    from codecbench.bench.compressai import ReferenceError, read_reference
    from codecbench.bench.store import StoreError

    try:
        points = reports.load_points(results)
        refs = [read_reference(f) for f in reference_files]
    except (StoreError, ReferenceError) as exc:
        print(f"codecbench {prog}: {exc}", file=sys.stderr)
        raise ResultsUnavailable(2) from None
    if points.empty:
        print(f"codecbench {prog}: {results}: the store holds no points", file=sys.stderr)
        raise ResultsUnavailable(1)
    return points, refs
