"""Executors by name: built-ins here, more through the entry-point group ``codecbench.executors``.

``create("local", workers=2)`` returns an :class:`~codecbench.run.executors.base.Executor`. A plugin declares::

    [project.entry-points."codecbench.executors"]
    myexec = "mypackage.executor:MyExecutor"     # a class taking workers=..., **options
"""

from __future__ import annotations

from typing import Any

from codecbench.plugins import Registry

from .base import Executor

ENTRY_POINT_GROUP = "codecbench.executors"

BUILTIN: dict[str, str] = {
    "local": "codecbench.run.executors.local:LocalExecutor",
    "dask": "codecbench.run.executors.dask:DaskExecutor",
}

REGISTRY: Registry[Any] = Registry("executor", ENTRY_POINT_GROUP, BUILTIN)


def register(name: str, cls: Any, *, replace: bool = False) -> None:
    """Register an executor class (or a "module:attr" string) at run time."""
    REGISTRY.register(name, cls, replace=replace)


def names() -> list[str]:
    return sorted(REGISTRY.names())


def create(name: str, **options: Any) -> Executor:
    """An executor by name; UnknownName lists the known ones, PluginUnavailable says why a known one cannot
    load (dask not installed, ...)."""
    return REGISTRY.get(name)(**options)


__all__ = ["Executor", "create", "names", "register", "ENTRY_POINT_GROUP"]
