"""Shared by the report commands: read a store's points (and reference curves) or say why not."""

from __future__ import annotations

import sys
from typing import Sequence

from codecbench.errors import CodecbenchError


class ResultsUnavailable(CodecbenchError):
    """RESULTS holds no points (exit status 1; an unreadable store is a StoreError, exit status 2)."""

    exit_code = 1


def load_results(prog: str, results: str, reference_files: Sequence[str] = ()):
    """(points DataFrame, reference curves) of a store. Raises StoreError (unreadable store),
    ReferenceCurveError (invalid reference file) or ResultsUnavailable (no points); main() reports them."""
    from codecbench.report import reports
    from codecbench.report.compressai import read_reference

    points = reports.load_points(results)
    refs = [read_reference(f) for f in reference_files]
    if points.empty:
        raise ResultsUnavailable(f"{results}: the store holds no points")
    taken = set(points["codec"])
    for ref in refs:  # a reference named like a codec label would merge into that codec's curve
        if ref.name in taken:
            new = f"{ref.name} (reference)"
            print(f"codecbench {prog}: note: reference {ref.source} is named {ref.name!r} like a codec of the store; "
                  f"shown as {new!r}", file=sys.stderr)
            ref.name = new
        taken.add(ref.name)
    return points, refs
