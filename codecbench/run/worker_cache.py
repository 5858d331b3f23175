"""Per-process caches: a worker binds each codec and loads each segmenter once."""

from __future__ import annotations

import threading
from typing import Any

from codecbench.run.frozen_settings import thaw

_codecs: dict[tuple, Any] = {}
_segmenters: dict[tuple, Any] = {}
_lock = threading.Lock()


def _cached(cache: dict[tuple, Any], key: tuple, make) -> Any:
    """The cached object for key, made once per process by make() (outside the lock: it may be slow)."""
    with _lock:
        obj = cache.get(key)
    if obj is None:
        obj = make()
        with _lock:
            obj = cache.setdefault(key, obj)
    return obj


def bound_codec(name: str, settings: tuple[tuple[str, Any], ...], fresh: bool = False):
    """The codec bound once per process; fresh=True binds it again (a checkpoint re-exported since)."""
    from codecbench.codecs import registry

    if fresh:
        with _lock:
            _codecs.pop((name, settings), None)
    return _cached(_codecs, (name, settings), lambda: registry.create(name, **thaw(settings)))


def bound_segmenter(name: str, options: tuple[tuple[str, Any], ...]):
    from codecbench.metrics.segmenters import registry

    return _cached(_segmenters, (name, options), lambda: registry.create(name, **thaw(options)))


def clear_caches() -> None:
    with _lock:
        _codecs.clear()
        _segmenters.clear()
