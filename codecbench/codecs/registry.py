"""The codec registry: built-in codec specs plus entry points in the group ``codecbench.codecs``.

A third-party package registers a codec by declaring, in its pyproject.toml::

    [project.entry-points."codecbench.codecs"]
    mycodec = "mypackage.codec:SPEC"

where ``SPEC`` is a :class:`~codecbench.codecs.spec.CodecSpec` (or a zero-argument callable
returning one). This module is the only place that lists the built-in codecs.
"""

from __future__ import annotations

import importlib
import warnings
from importlib.metadata import entry_points
from typing import Any

from .spec import Codec, CodecSpec, CodecUnavailable

ENTRY_POINT_GROUP = "codecbench.codecs"

# module path -> attribute holding the CodecSpec; each codec family is one short module.
BUILTIN: dict[str, str] = {
    "jpeg": "codecbench.codecs.pillow_codecs:JPEG",
    "webp": "codecbench.codecs.pillow_codecs:WEBP",
    "avif": "codecbench.codecs.pillow_codecs:AVIF",
    "jpeg2000": "codecbench.codecs.jpeg2000:JPEG2000",
    "heic": "codecbench.codecs.heic:HEIC",
    "jpegxl": "codecbench.codecs.jpegxl:JPEGXL",
    "bpg": "codecbench.codecs.bpg:BPG",
    "gan": "codecbench.codecs.gan.plugin:GAN",
}

_cache: dict[str, CodecSpec] | None = None


def _load(target: str) -> CodecSpec:
    module_name, _, attr = target.partition(":")
    obj: Any = getattr(importlib.import_module(module_name), attr)
    if callable(obj) and not isinstance(obj, CodecSpec):
        obj = obj()
    if not isinstance(obj, CodecSpec):
        raise TypeError(f"{target} is not a CodecSpec")
    return obj


def _broken(name: str, target: str, exc: BaseException) -> CodecSpec:
    """An always-unavailable spec standing for a built-in whose module failed to import, so that
    `codecbench list` shows the reason instead of the whole registry failing."""
    reason = f"module {target.partition(':')[0]} failed to import: {type(exc).__name__}: {exc}"

    def refuse(*_args: Any) -> Any:
        raise CodecUnavailable(f"codec {name!r} is unavailable: {reason}")

    return CodecSpec(
        name=name, summary="(failed to load)", library="unknown", version=lambda: "unknown", knob=None,
        encode=refuse, decode=refuse, unavailable=lambda _s: reason,
    )


def specs(refresh: bool = False) -> dict[str, CodecSpec]:
    """All codec specs by name: built-ins first, then entry points (which may not shadow a built-in)."""
    global _cache
    if _cache is not None and not refresh:
        return _cache
    found: dict[str, CodecSpec] = {}
    for name, target in BUILTIN.items():
        try:
            found[name] = _load(target)
        except Exception as exc:  # e.g. an optional dependency missing: report it, keep the rest
            found[name] = _broken(name, target, exc)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            warnings.warn(f"entry point {ep.value!r} tries to replace built-in codec {ep.name!r}; ignored")
            continue
        try:
            obj = ep.load()
            spec = obj() if callable(obj) and not isinstance(obj, CodecSpec) else obj
            if not isinstance(spec, CodecSpec):
                raise TypeError(f"{ep.value} is not a CodecSpec")
        except Exception as exc:  # a broken plugin must not break the harness
            warnings.warn(f"codec plugin {ep.name!r} ({ep.value}) failed to load: {exc}")
            continue
        found[ep.name] = spec
    _cache = found
    return found


def get(name: str) -> CodecSpec:
    """The spec registered under name; KeyError lists the known names."""
    all_specs = specs()
    if name not in all_specs:
        raise KeyError(f"unknown codec {name!r}; known codecs: {', '.join(sorted(all_specs))}")
    return all_specs[name]


def create(name: str, **settings: Any) -> Codec:
    """Bind a codec by name with the given fixed settings (raises CodecUnavailable with the reason)."""
    return get(name).bind(**settings)


def describe_all() -> list[dict[str, Any]]:
    """One row per codec for `codecbench list`: name, available, version, reason, library, knob, defaults."""
    rows = []
    for name, spec in specs().items():
        try:
            reason = spec.unavailable(dict(spec.defaults))
        except Exception as exc:
            reason = f"availability check failed: {exc}"
        try:
            version = spec.version()
        except Exception as exc:
            version = "unknown"
            reason = reason or f"version check failed: {exc}"
        rows.append(
            {
                "name": name,
                "available": reason is None,
                "version": version,
                "reason": reason,
                "library": spec.library,
                "summary": spec.summary,
                "knob": spec.knob.as_dict() if spec.knob else None,
                "defaults": dict(spec.defaults),
                "requires": list(spec.requires),
            }
        )
    return rows
