"""The ``sr`` codec: downscale, code with any registered codec, upscale (classically or with a learned network).

Settings (all recorded with every result):

- ``inner``: registry name of the codec that codes the downscaled image (any but ``sr``); ``inner_settings``: a
  table of that codec's own settings (``settings = { inner = "webp", inner_settings = { method = 4 } }``).
- ``scale`` (0.1–1, stored per mille), ``down`` (``lanczos`` | ``area``), ``up`` (``bicubic`` | ``lanczos`` |
  ``srcnn`` | ``rescnn``, see :mod:`codecbench.codecs.upscalers`).
- ``adaptive`` (Cheng et al. 2018): per image, the encoder measures the SR-only PSNR (RGB, dB) of downscaling ×0.5
  and upscaling with ``adaptive_up`` without coding; at or above ``threshold_db`` it codes at 0.5 + ``adaptive_up``,
  else at 0.7 + Lanczos. ``scale``/``up`` are then ignored; the choice is in the header (flag bit 0).

Bitstream: :mod:`.sr_header` (15 bytes) + the inner codec's stream; bpp counts every byte over the ORIGINAL image's
pixels. Rate control goes through the inner codec's knob (the bound codec's knob IS the inner's). For an inner knob
that is itself a rate (``is_bpp``, JPEG 2000), the wrapper's knob value is bpp over the original pixels: the byte
budget floor(bpp·H·W/8) minus the header is what the inner codec gets for the downscaled image. The bound codec's
version names the inner codec's version and the learned upscalers' weight ids, so result keys change with them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from typing import Any

import numpy as np

from . import sr_header, upscalers
from .spec import Codec, CodecError, CodecSpec, Settings

ADAPTIVE_SMALL = (0.5, None)  # (scale, upscaler): None = the adaptive_up setting
ADAPTIVE_LARGE = (0.7, "lanczos")
_ID_TO_UP = {v: k for k, v in upscalers.UPSCALER_IDS.items()}

DEFAULTS: dict[str, Any] = {
    "inner": "jpeg2000",
    "inner_settings": {},
    "scale": 0.5,
    "down": "lanczos",
    "up": "bicubic",
    "adaptive": False,
    "adaptive_up": "rescnn",
    # calibrated on CamVid train for JPEG 2000 inner: bench/sr_threshold.py, results/sr/threshold.md
    "threshold_db": 35.0,
}


def inner_settings_of(s: Settings) -> dict[str, Any]:
    """The inner settings as a dict (a suite's table; a runner's frozen copy arrives as a list of pairs)."""
    v = s.get("inner_settings") or {}
    if isinstance(v, dict):
        return dict(v)
    try:
        return {str(k): val for k, val in v}
    except (TypeError, ValueError):
        raise ValueError(f"codec 'sr': inner_settings must be a table of the inner codec's settings, "
                         f"got {v!r}") from None


def _check_settings(s: Settings) -> None:
    """Raise ValueError for malformed settings (a suite error, not unavailability)."""
    if not isinstance(s["inner"], str) or s["inner"] == "sr":
        raise ValueError(f"codec 'sr': inner must be the name of another registered codec, got {s['inner']!r}")
    scale = s["scale"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (0.1 <= scale <= 1.0):
        raise ValueError(f"codec 'sr': scale must be a number in 0.1..1, got {scale!r}")
    if s["down"] not in upscalers.DOWN_FILTERS:
        raise ValueError(f"codec 'sr': down must be one of {', '.join(upscalers.DOWN_FILTERS)}, got {s['down']!r}")
    for key in ("up", "adaptive_up"):
        if s[key] not in upscalers.UPSCALER_IDS:
            raise ValueError(f"codec 'sr': {key} must be one of {', '.join(upscalers.UPSCALER_IDS)}, got {s[key]!r}")
    if not isinstance(s["adaptive"], bool):
        raise ValueError(f"codec 'sr': adaptive must be true or false, got {s['adaptive']!r}")
    t = s["threshold_db"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise ValueError(f"codec 'sr': threshold_db must be a number (dB), got {t!r}")
    inner_settings_of(s)


def _upscalers_used(s: Settings) -> list[str]:
    return sorted({s["adaptive_up"], ADAPTIVE_LARGE[1]} if s["adaptive"] else {s["up"]})


def _unavailable(s: Settings) -> str | None:
    from . import registry

    _check_settings(s)
    try:
        inner = registry.get(s["inner"])
    except KeyError as exc:
        return str(exc).strip("'\"")
    try:
        reason = inner.unavailable({**inner.defaults, **inner_settings_of(s)})
    except Exception as exc:  # an inner check that fails on odd settings
        reason = f"availability check failed: {exc}"
    if reason:
        return f"inner codec {s['inner']!r}: {reason}"
    for up in _upscalers_used(s):
        reason = upscalers.available(up)
        if reason:
            return reason
    return None


def _prepare(s: Settings) -> dict[str, Any]:
    from . import registry

    inner = registry.get(s["inner"]).bind(**inner_settings_of(s))
    for up in _upscalers_used(s):
        if up in upscalers.LEARNED:
            try:
                upscalers.load(up)
            except upscalers.UpscalerError as exc:
                raise CodecError(str(exc)) from None
    return {**s, "inner_codec": inner, "choices": OrderedDict()}


def _permille(scale: float) -> int:
    return max(1, min(1000, int(round(scale * 1000))))


def sr_only_psnr(image: np.ndarray, scale: float, down: str, up: str) -> float:
    """PSNR (dB, RGB, peak 255) of downscaling by scale and upscaling back, without coding."""
    h, w = image.shape[:2]
    small = upscalers.resize(image, upscalers.scaled_size(h, w, scale), down)
    out = upscalers.upscale(small, (h, w), up)
    mse = float(np.mean((out.astype(np.float64) - image.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def choose(image: np.ndarray, s: Settings) -> tuple[float, str, int]:
    """(scale, upscaler, flags) for an image: the fixed settings, or the adaptive rule (cached per image)."""
    if not s["adaptive"]:
        return float(s["scale"]), s["up"], 0
    cache = s["choices"]
    key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest() + str(image.shape)
    if key not in cache:
        psnr = sr_only_psnr(image, ADAPTIVE_SMALL[0], s["down"], s["adaptive_up"])
        cache[key] = (ADAPTIVE_SMALL[0], s["adaptive_up"]) if psnr >= s["threshold_db"] else ADAPTIVE_LARGE
        while len(cache) > 64:
            cache.popitem(last=False)
    scale, up = cache[key]
    return scale, up, sr_header.FLAG_ADAPTIVE


def _encode(image: np.ndarray, knob: Any, s: Settings) -> bytes:
    inner: Codec = s["inner_codec"]
    h, w = image.shape[:2]
    scale, up, flags = choose(image, s)
    permille = _permille(scale)
    sh, sw = upscalers.scaled_size(h, w, permille / 1000.0)
    small = upscalers.resize(image, (sh, sw), s["down"])
    if knob is not None and inner.knob is not None and inner.knob.is_bpp:
        budget = math.floor(float(knob) * h * w / 8.0) - sr_header.HEADER_BYTES
        knob = max(budget, 1) * 8.0 / (sh * sw)
    data = inner.encode(small, knob)
    head = sr_header.Header(w, h, permille, upscalers.UPSCALER_IDS[up], flags)
    return sr_header.write(head, data)


def _decode(data: bytes, s: Settings) -> np.ndarray:
    head, payload = sr_header.read(data)
    up = _ID_TO_UP.get(head.upscaler_id)
    if up is None:
        raise sr_header.SRBitstreamError(f"sr bitstream names unknown upscaler id {head.upscaler_id}")
    small = s["inner_codec"].decode(payload)
    expected = upscalers.scaled_size(head.height, head.width, head.scale)
    if small.shape[:2] != expected:
        raise sr_header.SRBitstreamError(
            f"sr bitstream: inner stream decoded to {small.shape[1]}×{small.shape[0]}, the header expects "
            f"{expected[1]}×{expected[0]} ({head.width}×{head.height} at scale {head.scale})")
    try:
        return upscalers.upscale(small, (head.height, head.width), up)
    except upscalers.UpscalerError as exc:
        raise CodecError(str(exc)) from None


def _details(s: Settings) -> dict[str, Any]:
    inner = s["inner_codec"].describe()
    ups = {u: upscalers.weights_id(u) for u in _upscalers_used(s) if u in upscalers.LEARNED}
    return {"inner": inner, "upscaler_weights": ups, "header_bytes": sr_header.HEADER_BYTES,
            "bitstream_version": sr_header.VERSION}


class SRSpec(CodecSpec):
    """CodecSpec whose bound codec takes the inner codec's knob, minimum side and version."""

    def bind(self, **settings: Any) -> Codec:
        codec = super().bind(**settings)
        inner: Codec = codec.runtime["inner_codec"]
        ups = [f"{u}:{upscalers.weights_id(u)}" for u in _upscalers_used(codec.runtime) if u in upscalers.LEARNED]
        inner_settings = json.dumps(dict(sorted(inner.settings.items())), sort_keys=True, separators=(",", ":"),
                                    default=str)
        label = (f"sr v{sr_header.VERSION} [{inner.name} {inner.version()} {inner_settings}]"
                 + (f" [{', '.join(ups)}]" if ups else ""))
        min_scale = ADAPTIVE_SMALL[0] if codec.settings["adaptive"] else float(codec.settings["scale"])
        bound = CodecSpec(
            name=self.name, summary=self.summary, library=f"{self.library} around {inner.spec.library}",
            version=lambda: label, knob=inner.knob, encode=self.encode, decode=self.decode,
            defaults=self.defaults, unavailable=self.unavailable, requires=tuple(inner.spec.requires),
            min_side=max(1, math.ceil(inner.spec.min_side / min_scale)), prepare=None, details=self.details,
        )
        return Codec(bound, codec.settings, codec.runtime)


def _version() -> str:
    return f"sr v{sr_header.VERSION} (the bound codec's version adds the inner codec's)"


SR = SRSpec(
    name="sr",
    summary="resampling wrapper: downscale, any inner codec, upscale (bicubic/Lanczos/SRCNN/ResCNN; adaptive)",
    library="codecbench.codecs.sr (Pillow resampling, PyTorch upscalers)",
    version=_version,
    knob=None,
    encode=_encode,
    decode=_decode,
    defaults=DEFAULTS,
    unavailable=_unavailable,
    prepare=_prepare,
    details=_details,
)
