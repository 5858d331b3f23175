"""Settings as hashable sorted tuples of (name, value) pairs, as jobs and the per-process caches hold them, and back."""

from __future__ import annotations

from typing import Any


def freeze(mapping: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """A settings dict as a sorted tuple of pairs (lists become tuples)."""

    def fz(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(fz(x) for x in v)
        if isinstance(v, dict):
            return freeze(v)
        return v

    return tuple(sorted((k, fz(v)) for k, v in (mapping or {}).items()))


def thaw(pairs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in pairs}
