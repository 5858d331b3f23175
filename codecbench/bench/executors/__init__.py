"""Executors by name: built-ins here, more through the entry-point group ``codecbench.executors``.

``create("local", workers=2)`` returns an :class:`~codecbench.bench.executors.base.Executor`. A plugin declares::

    [project.entry-points."codecbench.executors"]
    myexec = "mypackage.executor:MyExecutor"     # a class taking workers=..., **options
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from .base import Executor

ENTRY_POINT_GROUP = "codecbench.executors"

BUILTIN: dict[str, str] = {
    "local": "codecbench.bench.executors.local:LocalExecutor",
    "dask": "codecbench.bench.executors.dask:DaskExecutor",
}


def names() -> list[str]:
    found = set(BUILTIN)
    found.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(found)


def create(name: str, **options: Any) -> Executor:
    """An executor by name; ValueError names the known ones, or why a known one cannot load."""
    if name in BUILTIN:
        module, _, attr = BUILTIN[name].partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"executor {name!r} cannot be loaded: {exc}") from None
        return cls(**options)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()(**options)
    raise ValueError(f"unknown executor {name!r}; known executors: {', '.join(names())}")


__all__ = ["Executor", "create", "names", "ENTRY_POINT_GROUP"]
