"""Checks the runner makes before the first encode, and the error they raise (errors name the suite file and key).

Everything a suite names is validated up front: codec settings (by the codec's bind), knob ranges, the segmenter
with its weights and device; an expensive point never fails late because of a typo.
"""

from __future__ import annotations

import re
from typing import Any

from codecbench.errors import CodecbenchError


class RunError(CodecbenchError, RuntimeError):
    """The run cannot start (a required codec is unavailable, a dataset is missing, a suite value is invalid)."""


def unprefixed(message: str, codec: str) -> str:
    """A codec's message without its own leading "codec 'name': " (the caller adds one prefix, not two)."""
    return re.sub(rf"^(codec {re.escape(repr(codec))}:\s*)+", "", message)


def check_knobs(codec: Any, entry: Any, where: str, key: str) -> None:
    """Knob sweeps must lie in the codec's range (a clipped value would be stored as one never used)."""
    if entry.knobs is None:
        return
    knob = codec.knob
    if knob is None:
        raise RunError(f"{where}: key '{key}.knobs': codec {entry.label!r} has a fixed rate and no knob to sweep")
    for v in entry.knobs:
        if not knob.low <= v <= knob.high:
            raise RunError(f"{where}: key '{key}.knobs': {v:g} is outside the range of {entry.label!r}'s "
                           f"{knob.name} ({knob.low:g}–{knob.high:g})")
        if knob.integer and v != int(v):
            raise RunError(f"{where}: key '{key}.knobs': {v:g} is not a whole number; {entry.label!r}'s "
                           f"{knob.name} takes integers")


def check_segmenter(suite: Any, where: str) -> None:
    """Build the suite's segmenter once (name, options, weights file) before anything is encoded, on the CPU so
    the main process takes no GPU memory; a requested CUDA device is checked without using it."""
    from codecbench.metrics.segmenters import registry as segreg

    options = dict(suite.segmenter.options)
    try:
        if options.get("device") not in (None, "auto", "cpu"):
            segreg.resolve_device(options["device"])
        try:
            seg = segreg.create(suite.segmenter.name, **{**options, "device": "cpu"})
        except TypeError:  # a segmenter without a device option
            seg = segreg.create(suite.segmenter.name, **options)
    except KeyError as exc:
        raise RunError(f"{where}: key 'segmenter.name': {str(exc).strip(chr(39) + chr(34))}") from None
    except TypeError as exc:
        raise RunError(f"{where}: key 'segmenter.options': {exc}") from None
    except Exception as exc:  # SegmenterError (weights missing, unreadable, wrong shape), bad device, ...
        raise RunError(f"{where}: key 'segmenter': {exc}") from None
    del seg


def every_nth(images: list, bad: list, step: int) -> tuple[list, list]:
    """Every step-th image of the dataset's order (a suite's ``stride``), counting the bad images at their places,
    so a broken file does not shift which images a subset holds."""
    if step <= 1:
        return list(images), list(bad)
    bad_at = {b.index for b in bad}
    positions = [i for i in range(len(images) + len(bad)) if i not in bad_at]
    return ([r for r, pos in zip(images, positions) if pos % step == 0],
            [b for b in bad if b.index % step == 0])
