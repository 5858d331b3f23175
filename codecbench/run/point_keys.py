"""A point's key (image hash, codec identity, target): its parts, the whole, and a worker's check of its codec part."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from codecbench.errors import CodecbenchError

if TYPE_CHECKING:  # pragma: no cover
    from codecbench.run.jobs import Job


def codec_key_of(description: dict[str, Any]) -> str:
    """The codec part of a point's key, from :meth:`Codec.describe`'s ``identity``: ``name@version`` plus the
    settings that change the bytes as canonical JSON, plus ``#model=<id>`` for a learned codec.
    (A description without ``identity`` is keyed on all its settings.)"""
    ident = description.get("identity") or description
    return identity_key(ident["name"], ident["version"], ident.get("settings", {}), ident.get("model_id"))


def identity_key(name: str, version: str, settings: dict[str, Any], model_id: str | None = None) -> str:
    """``name@version{settings JSON}`` (+ ``#model=<id>``): see :func:`codec_key_of`."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return f"{name}@{version}{text}" + (f"#model={model_id}" if model_id else "")


def target_key(target_bpp: float | None, knob: Any = None) -> str:
    """The target part of a point's key: repr of the bpp target, ``knob=<v>`` for a sweep, ``fixed`` otherwise."""
    if target_bpp is not None:
        return repr(float(target_bpp))
    if knob is not None:
        return f"knob={knob!r}"
    return "fixed"


def point_key(image_hash: str, codec_key: str, target: str) -> str:
    return f"{image_hash}|{codec_key}|{target}"


class KeyMismatch(CodecbenchError):
    """The worker's codec is not the one the planner keyed the job with (another version or model)."""


def check_key(job: Job, desc: dict[str, Any]) -> None:
    """Raise KeyMismatch unless this process's codec description gives the job's codec key."""
    mine = codec_key_of(desc)
    if mine != job.codec_key:
        ident = desc.get("identity") or desc
        raise KeyMismatch(
            f"codec {job.codec_label!r}: this worker's codec is version {ident['version']!r}"
            + (f" model {ident['model_id']}" if ident.get("model_id") else "")
            + f" (key {mine}), the planner's is {job.codec_key}; refusing to store a point under another "
            f"codec's key (install the same version on every worker)")
