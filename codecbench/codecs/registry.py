"""The codec registry: built-in codec specs plus entry points in the group ``codecbench.codecs``.

A third-party package registers a codec by declaring, in its pyproject.toml::

    [project.entry-points."codecbench.codecs"]
    mycodec = "mypackage.codec:SPEC"

where ``SPEC`` is a :class:`~codecbench.codecs.spec.CodecSpec` (or a zero-argument callable
returning one), or calls :func:`register` at run time. This module is the only place that lists the
built-in codecs; the rules (precedence, name clashes, load failures) are :mod:`codecbench.plugins`'.
"""

from __future__ import annotations

from typing import Any

from codecbench.errors import PluginUnavailable, UnknownName
from codecbench.plugins import Registry

from .spec import Codec, CodecSpec, CodecUnavailable

ENTRY_POINT_GROUP = "codecbench.codecs"

# name -> "module:attribute" holding the CodecSpec; each codec family is one short module.
BUILTIN: dict[str, str] = {
    "jpeg": "codecbench.codecs.pillow_codecs:JPEG",
    "webp": "codecbench.codecs.pillow_codecs:WEBP",
    "avif": "codecbench.codecs.pillow_codecs:AVIF",
    "jpeg2000": "codecbench.codecs.jpeg2000:JPEG2000",
    "heic": "codecbench.codecs.heic:HEIC",
    "jpegxl": "codecbench.codecs.jpegxl:JPEGXL",
    "bpg": "codecbench.codecs.bpg:BPG",
    "gan": "codecbench.codecs.gan.spec:GAN",
    "sr": "codecbench.codecs.sr:SR",
    "cae": "codecbench.codecs.cae.spec:CAE",
}


def _as_spec(obj: Any) -> CodecSpec:
    """A CodecSpec, or a zero-argument callable returning one."""
    if callable(obj) and not isinstance(obj, CodecSpec):
        obj = obj()
    if not isinstance(obj, CodecSpec):
        raise TypeError(f"{obj!r} is not a CodecSpec")
    return obj


REGISTRY: Registry[CodecSpec] = Registry("codec", ENTRY_POINT_GROUP, BUILTIN, _as_spec)


def register(name: str, spec: CodecSpec | str, *, replace: bool = False) -> None:
    """Register a codec at run time (a CodecSpec, a factory, or a "module:attr" string)."""
    REGISTRY.register(name, spec, replace=replace)


def _broken(name: str, reason: str) -> CodecSpec:
    """An always-unavailable spec standing for an entry that failed to load, so that `codecbench list` shows
    the reason instead of the whole registry failing."""

    def refuse(*_args: Any) -> Any:
        raise CodecUnavailable(f"codec {name!r} is unavailable: {reason}")

    return CodecSpec(
        name=name, summary="(failed to load)", library="unknown", version=lambda: "unknown", knob=None,
        encode=refuse, decode=refuse, unavailable=lambda _s: reason,
    )


def specs(refresh: bool = False) -> dict[str, CodecSpec]:
    """All codec specs by name: built-ins, entry points, register() calls. One that failed to load is a spec
    whose ``unavailable()`` gives the reason."""
    if refresh:
        REGISTRY.refresh()
    out: dict[str, CodecSpec] = {}
    for name in REGISTRY.names():
        reason = REGISTRY.reason(name)
        out[name] = _broken(name, reason) if reason else REGISTRY.get(name)
    return out


def get(name: str) -> CodecSpec:
    """The spec registered under name; UnknownName (a KeyError) lists the known names; a spec that failed to
    load is returned as one that is unavailable with the reason."""
    try:
        return REGISTRY.get(name)
    except PluginUnavailable:
        return _broken(name, REGISTRY.reason(name) or "unknown reason")
    except UnknownName:
        raise UnknownName(f"unknown codec {name!r}; known codecs: {', '.join(sorted(REGISTRY.names()))}") from None


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
