"""One registry implementation for codecs, segmenters, executors and datasets.

A :class:`Registry` holds named entries from three sources, in this order of precedence:

1. built-ins: a dict ``name -> "module:attribute"``, imported only when first used (lazy);
2. entry points of a group (e.g. ``codecbench.codecs``) declared by installed packages;
3. :meth:`Registry.register` calls made at run time (tests, notebooks, plugins without packaging).

A name that is already taken gives a :class:`NameClash` warning and the first entry wins, except that
``register(..., replace=True)`` replaces it deliberately. An entry whose import fails stays listed with the
reason (``"plugin failed to load: ModuleNotFoundError: ..."``), so listing never fails because of one broken
plugin; getting it raises :class:`~codecbench.errors.PluginUnavailable` with that reason. An unknown name
raises :class:`~codecbench.errors.UnknownName` listing the known names.

``check`` (optional) turns the loaded attribute into the registered object or raises TypeError (e.g. a codec
registry calls a zero-argument factory and insists on a CodecSpec).
"""

from __future__ import annotations

import importlib
import threading
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Mapping, TypeVar

from codecbench.errors import PluginUnavailable, UnknownName

T = TypeVar("T")


class NameClash(UserWarning):
    """A plugin asked for a name that is already registered; the first registration is kept."""


@dataclass
class Entry:
    """One registered name: where it comes from, its target, and once loaded its object or failure reason."""

    name: str
    source: str  # "built-in", "entry point", "register()"
    target: Any  # "module:attr" string, an EntryPoint, or the object itself
    loaded: bool = False
    obj: Any = None
    reason: str | None = None


def import_target(target: str) -> Any:
    """The object named by ``"package.module:attribute"``."""
    module_name, sep, attr = target.partition(":")
    if not sep or not attr:
        raise ValueError(f"{target!r} is not of the form 'module:attribute'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Named objects of one kind (see the module docstring).

    kind: the word used in messages ("codec"). group: the entry-point group. builtins: the built-ins dict, kept
    by reference (so a test may add to it) and read again on :meth:`refresh`.
    """

    def __init__(self, kind: str, group: str, builtins: Mapping[str, str],
                 check: Callable[[Any], T] | None = None):
        self.kind = kind
        self.group = group
        self.builtins = builtins
        self._check = check
        self._registered: dict[str, Entry] = {}
        self._entries: dict[str, Entry] | None = None
        self._lock = threading.RLock()

    # -- building the table --------------------------------------------------------------------------------
    def _collect(self) -> dict[str, Entry]:
        found: dict[str, Entry] = {n: Entry(n, "built-in", t) for n, t in self.builtins.items()}
        for ep in entry_points(group=self.group):
            if ep.name in found:
                warnings.warn(f"{self.kind} name clash: entry point {ep.name!r} ({ep.value}) is already "
                              f"registered as a {found[ep.name].source}; the entry point is ignored",
                              NameClash, stacklevel=3)
                continue
            found[ep.name] = Entry(ep.name, "entry point", ep)
        for name, entry in self._registered.items():
            found[name] = entry
        return found

    def entries(self) -> dict[str, Entry]:
        with self._lock:
            if self._entries is None:
                self._entries = self._collect()
            return self._entries

    def refresh(self) -> None:
        """Forget what was loaded and read built-ins and entry points again (register() calls are kept)."""
        with self._lock:
            self._entries = None

    def register(self, name: str, obj: Any, *, replace: bool = False) -> None:
        """Add an object (or a ``"module:attr"`` string) under name. A taken name warns and is left alone,
        unless replace=True."""
        with self._lock:
            current = self.entries()
            if name in current and not replace:
                warnings.warn(f"{self.kind} name clash: {name!r} is already registered as a "
                              f"{current[name].source}; register(..., replace=True) to replace it",
                              NameClash, stacklevel=2)
                return
            entry = Entry(name, "register()", obj)
            self._registered[name] = entry
            current[name] = entry

    def unregister(self, name: str) -> None:
        """Remove a name added by :meth:`register` (built-ins and entry points come back on refresh)."""
        with self._lock:
            self._registered.pop(name, None)
            self._entries = None

    # -- loading -------------------------------------------------------------------------------------------
    def _load(self, entry: Entry) -> None:
        try:
            target = entry.target
            if isinstance(target, str):
                obj = import_target(target)
            elif hasattr(target, "load") and hasattr(target, "group"):  # an importlib EntryPoint
                obj = target.load()
            else:
                obj = target
            entry.obj = self._check(obj) if self._check else obj
        except Exception as exc:  # a broken plugin must not break the harness: keep the reason
            entry.reason = f"plugin failed to load: {type(exc).__name__}: {exc}"
        entry.loaded = True

    def _entry(self, name: str) -> Entry:
        entries = self.entries()
        if name not in entries:
            raise UnknownName(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}")
        entry = entries[name]
        with self._lock:
            if not entry.loaded:
                self._load(entry)
        return entry

    def names(self) -> list[str]:
        """Every registered name (available or not), built-ins first."""
        return list(self.entries())

    def __contains__(self, name: object) -> bool:
        return name in self.entries()

    def reason(self, name: str) -> str | None:
        """None when name loads, else why not (UnknownName for an unknown name)."""
        return self._entry(name).reason

    def get(self, name: str) -> T:
        """The registered object; UnknownName or PluginUnavailable (with the reason) otherwise."""
        entry = self._entry(name)
        if entry.reason is not None:
            raise PluginUnavailable(f"{self.kind} {name!r} is unavailable: {entry.reason}")
        return entry.obj

    def load_all(self) -> dict[str, T | None]:
        """name -> object, None where it failed to load (see :meth:`reason`)."""
        return {name: self._entry(name).obj for name in self.names()}

