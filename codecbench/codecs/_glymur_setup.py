"""Import glymur bound to a working OpenJPEG (libopenjp2), even on a machine without one installed.

glymur looks for libopenjp2 once, when it is first imported, and sizes its ctypes structures from
that library's version. Where no system library exists, glymur imports with version "0.0.0" and
cannot encode. Pillow's manylinux/macOS wheels carry their own libopenjp2 (``pillow.libs/`` or
``PIL/.dylibs/``); this module points glymur at it by writing a glymurrc into a private temporary
XDG_CONFIG_HOME that exists only around glymur's import.

Choice of library, via ``CODECBENCH_OPENJP2``:
- unset or ``auto``: the user's glymurrc when there is one, else Pillow's bundled copy (so the OpenJPEG
  version, part of every JPEG 2000 point's key, follows the pinned Pillow wheel rather than whatever the
  system happens to carry), else the system library;
- ``system``: glymur's own discovery only; ``bundled``: Pillow's copy; any other value: a path.
"""

from __future__ import annotations

import os
import sys
import tempfile
from ctypes.util import find_library
from pathlib import Path
from types import ModuleType

ENV_VAR = "CODECBENCH_OPENJP2"

_state: dict[str, str] = {}


def bundled_openjp2() -> Path | None:
    """Path of the libopenjp2 shipped inside Pillow's wheel, or None."""
    import PIL

    pil_dir = Path(PIL.__file__).resolve().parent
    patterns = [
        (pil_dir.parent / "pillow.libs", "libopenjp2*.so*"),  # manylinux
        (pil_dir / ".dylibs", "libopenjp2*.dylib"),  # macOS
        (pil_dir.parent / "pillow.libs", "openjp2*.dll"),  # Windows (delvewheel)
    ]
    for folder, pattern in patterns:
        if folder.is_dir():
            found = sorted(folder.glob(pattern))
            if found:
                return found[0]
    return None


def _user_glymurrc() -> bool:
    candidates = [Path.cwd() / "glymurrc"]
    if "XDG_CONFIG_HOME" in os.environ:
        candidates.append(Path(os.environ["XDG_CONFIG_HOME"]) / "glymur" / "glymurrc")
    elif "HOME" in os.environ:
        candidates.append(Path(os.environ["HOME"]) / ".config" / "glymur" / "glymurrc")
    return any(p.exists() for p in candidates)


def _import_with_library(lib: Path) -> ModuleType:
    saved = os.environ.get("XDG_CONFIG_HOME")
    with tempfile.TemporaryDirectory(prefix="codecbench-glymur-") as tmp:
        conf = Path(tmp) / "glymur"
        conf.mkdir()
        (conf / "glymurrc").write_text(f"[library]\nopenjp2: {lib}\n")
        os.environ["XDG_CONFIG_HOME"] = tmp
        try:
            import glymur
        finally:
            if saved is None:
                os.environ.pop("XDG_CONFIG_HOME", None)
            else:
                os.environ["XDG_CONFIG_HOME"] = saved
    return glymur


def import_glymur() -> ModuleType:
    """glymur, imported once with the library chosen as the module docstring says."""
    if "glymur" in sys.modules:
        _state.setdefault("source", "already imported")
        return sys.modules["glymur"]
    choice = os.environ.get(ENV_VAR, "auto").strip() or "auto"
    if choice == "system" or (choice == "auto" and (_user_glymurrc() or (bundled_openjp2() is None
                                                                         and find_library("openjp2")))):
        import glymur

        _state["source"] = "system"
        return glymur
    lib = bundled_openjp2() if choice in ("auto", "bundled") else Path(choice)
    if lib is None or not lib.exists():
        import glymur  # glymur will report version 0.0.0; the codec's availability check says why

        _state["source"] = f"none found ({ENV_VAR}={choice})"
        return glymur
    _state["source"] = f"bundled with Pillow ({lib.name})" if choice in ("auto", "bundled") else str(lib)
    return _import_with_library(lib)


def library_source() -> str:
    """Where glymur's libopenjp2 came from ("system", "bundled with Pillow (...)", a path)."""
    import_glymur()
    return _state.get("source", "unknown")


def openjpeg_version() -> str:
    """OpenJPEG version glymur is bound to ("0.0.0" when it found no library)."""
    return import_glymur().version.openjpeg_version
