"""Which torch device a name means: the one place that decides what "auto" is.

"auto" (or None) is CUDA when torch sees a CUDA device, else the CPU; an explicit "cuda" (or "cuda:1") without
CUDA raises :class:`~codecbench.errors.DeviceUnavailable`. torch is imported only when this is called.
"""

from __future__ import annotations

from typing import Any

from codecbench.errors import DeviceUnavailable


def resolve_device(device: Any = "auto") -> Any:
    """A ``torch.device`` for a name, a torch.device or None (see the module docstring)."""
    import torch

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable(f"device {str(device)!r} requested, but CUDA is not available here "
                                "(use 'cpu' or 'auto')")
    return dev


def device_name(device: Any = "auto") -> str:
    """:func:`resolve_device` as a string ("cpu", "cuda"); the CPU when torch cannot be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"
    return str(resolve_device(device))
