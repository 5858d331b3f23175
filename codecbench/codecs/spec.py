"""Codecs described as data: a :class:`CodecSpec` plus two functions.

A spec says everything a result needs to be reproducible (library, version, rate knob,
fixed settings, requirements). :func:`CodecSpec.bind` fixes the settings and returns a
:class:`Codec`, the object the runner and rate control use:

    codec = registry.create("jpeg", subsampling="4:2:0")
    data = codec.encode(image, 50)          # image: RGB uint8 H×W×3 -> bytes
    out = codec.decode(data)                # -> RGB uint8 H×W×3 of the same size
    bpp = 8 * len(data) / (H * W)

Codec modules never import metrics or the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from codecbench.errors import BadInput, CodecbenchError

Settings = Mapping[str, Any]
Encoder = Callable[[np.ndarray, Any, Settings], bytes]
Decoder = Callable[[bytes, Settings], np.ndarray]


class CodecError(CodecbenchError, RuntimeError):
    """A codec failed on a given input (bad image, corrupted stream, crashed binary)."""


class CodecUnavailable(CodecError):
    """The codec cannot run here (missing library or binary); the message says why and how to fix it."""


@dataclass(frozen=True)
class Knob:
    """The rate knob of a codec.

    name: the codec's own word for it ("quality", "qp", "bpp").
    low, high: inclusive range.
    integer: whether only whole values are valid.
    increases_rate: True when a higher value gives more bytes (JPEG quality), False when it
        gives fewer (BPG qp).
    is_bpp: True when the knob is itself a target rate in bpp that the encoder meets in one
        encode (JPEG 2000 through its compression ratio); rate control then encodes once.
    levels: for an integer knob whose library maps several values to one encoder setting (AVIF's and HEIC's
        quality), the lowest value of each class, ascending (starting at ``low``): every value from one level
        up to the next gives the same stream. Rate control searches over the levels only, so a plateau costs
        no encodes; an explicit knob value is still encoded as given.
    axis: the coordinate on which log(bpp) is closest to linear, for rate control's extrapolation: "linear"
        (the knob itself) or "ijg" (an IJG JPEG quality q: minus the log of the quantization-table scale,
        5000/q below 50 and 200 − 2q from 50). A hint for the search only: the result is the same, found in
        fewer encodes.
    """

    name: str
    low: float
    high: float
    integer: bool = True
    increases_rate: bool = True
    is_bpp: bool = False
    levels: tuple[int, ...] | None = None
    axis: str = "linear"

    def clip(self, value: float) -> float | int:
        v = min(max(value, self.low), self.high)
        return int(round(v)) if self.integer else float(v)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "integer": self.integer,
            "increases_rate": self.increases_rate,
            "is_bpp": self.is_bpp,
            **({"levels": list(self.levels)} if self.levels else {}),
        }


def _always_available(_settings: Settings) -> str | None:
    return None


@dataclass(frozen=True)
class CodecSpec:
    """Static description of a codec family plus its encode/decode functions.

    name: registry name ("jpeg", "jpeg2000", ...).
    summary: one line for `codecbench list`.
    library: underlying implementation ("libjpeg-turbo", "OpenJPEG", ...).
    version: callable returning the library version string (called lazily).
    knob: the rate knob, or None for a fixed-rate codec (the GAN codec: its checkpoint fixes the rate).
    defaults: the fixed settings and their default values (chroma subsampling, effort, ...).
        Every key is a parameter that changes results and is recorded with every result.
    encode(image, knob_value, settings) -> bytes; decode(data, settings) -> image.
    unavailable(settings) -> None when the codec can run here, else the reason and the fix.
    requires: what it needs beyond Python packages ("binary:bpgenc", "gpu" when only a GPU makes sense).
    min_side: smallest image side in pixels the codec accepts (smaller images are refused with a
        clear error unless the codec pads itself).
    prepare: optional callable(settings) -> settings, run once by :meth:`bind` (validates and fills
        in settings, e.g. loads a model); its result is what encode/decode receive.
    details: optional callable(runtime settings) -> mapping of further facts that identify the
        codec's output (a model's id and its F, L and nominal bpp), recorded with every result. A
        ``model_id`` in it is part of the point key (a learned codec's weights).
    keyless: the settings that do not change the bytes (a device, a path to a checkpoint whose model id
        is keyed instead); recorded with every result but left out of the point key.
    provenance: optional callable(runtime settings) -> mapping of facts that locate the implementation
        without changing its output (binary path, shared-library file, torch build); recorded, never keyed.
        ``version()`` must not contain them: it is part of the point key.
        codec's output (a model's id and its F, L and nominal bpp), recorded with every result.
    choices: optional setting -> allowed values; :meth:`bind` refuses others (ValueError) before anything runs.
        Every setting must also have the type of its default.
    """

    name: str
    summary: str
    library: str
    version: Callable[[], str]
    knob: Knob | None
    encode: Encoder
    decode: Decoder
    defaults: Mapping[str, Any] = field(default_factory=dict)
    unavailable: Callable[[Settings], str | None] = _always_available
    requires: tuple[str, ...] = ()
    min_side: int = 1
    prepare: Callable[[Settings], Settings] | None = None
    details: Callable[[Settings], Mapping[str, Any]] | None = None
    keyless: tuple[str, ...] = ()
    provenance: Callable[[Settings], Mapping[str, Any]] | None = None
    choices: Mapping[str, tuple] = field(default_factory=dict)

    def bind(self, **settings: Any) -> "Codec":
        unknown = set(settings) - set(self.defaults)
        if unknown:
            raise BadInput(
                f"codec {self.name!r}: unknown setting(s) {sorted(unknown)}; "
                f"valid settings are {sorted(self.defaults)}"
            )
        for key, value in settings.items():
            _check_setting_type(self.name, key, value, self.defaults[key])
            allowed = self.choices.get(key)
            if allowed is not None and value not in allowed:
                raise ValueError(f"codec {self.name!r}: setting {key!r} must be one of "
                                 f"{', '.join(map(repr, allowed))}, got {value!r}")
        merged = {**self.defaults, **settings}
        reason = self.unavailable(merged)
        if reason:
            raise CodecUnavailable(f"codec {self.name!r} is unavailable: {reason}")
        runtime = self.prepare(merged) if self.prepare else merged
        return Codec(self, dict(merged), runtime)


@dataclass
class Codec:
    """A codec with its settings fixed. Encode RGB uint8 H×W×3 to bytes and back."""

    spec: CodecSpec
    settings: dict[str, Any]
    runtime: Settings

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def knob(self) -> Knob | None:
        return self.spec.knob

    def version(self) -> str:
        return self.spec.version()

    def encode(self, image: np.ndarray, knob_value: Any = None) -> bytes:
        check_image(image, self.spec)
        if self.spec.knob is not None:
            if knob_value is None:
                raise BadInput(f"codec {self.name!r} needs a value for its knob {self.spec.knob.name!r}")
            knob_value = self.spec.knob.clip(knob_value)
        data = self.spec.encode(image, knob_value, self.runtime)
        if not isinstance(data, (bytes, bytearray)):
            raise CodecError(f"codec {self.name!r}: encode returned {type(data).__name__}; the CodecSpec contract "
                             "is encode(image, knob, settings) -> bytes")
        return data if isinstance(data, bytes) else bytes(data)

    def decode(self, data: bytes) -> np.ndarray:
        out = self.spec.decode(data, self.runtime)
        if not isinstance(out, np.ndarray):
            raise CodecError(f"codec {self.name!r}: decode returned {type(out).__name__}; the CodecSpec contract "
                             "is decode(data, settings) -> numpy RGB uint8 H×W×3 array")
        if out.dtype != np.uint8 or out.ndim != 3 or out.shape[2] != 3:
            raise CodecError(f"codec {self.name!r} decoded to {out.dtype} {out.shape}, expected uint8 H×W×3")
        return out

    def describe(self) -> dict[str, Any]:
        """Everything a result record needs about this codec (JSON-serialisable).

        ``identity`` is what the point key is made of: name, version, the settings that change the bytes and
        the model id (learned codecs); ``provenance`` what locates the implementation without changing bytes.
        """
        version = self.spec.version()
        details = dict(self.spec.details(self.runtime)) if self.spec.details else {}
        return {
            "name": self.spec.name,
            "library": self.spec.library,
            "version": version,
            "settings": dict(sorted(self.settings.items())),
            "knob": self.spec.knob.as_dict() if self.spec.knob else None,
            "requires": list(self.spec.requires),
            "details": details,
            "identity": {
                "name": self.spec.name,
                "version": version,
                "settings": {k: v for k, v in sorted(self.settings.items()) if k not in self.spec.keyless},
                "model_id": details.get("model_id"),
            },
            "provenance": dict(self.spec.provenance(self.runtime)) if self.spec.provenance else {},
        }


def _check_setting_type(codec: str, key: str, value: Any, default: Any) -> None:
    """A setting must have the type of its default (an int where a string is expected, e.g. ``subsampling =
    420`` for "4:2:0", is refused); an int is accepted where the default is a float; None defaults take anything."""
    if default is None or value is None:
        return
    want = type(default)
    ok = isinstance(value, want) and (isinstance(value, bool) == isinstance(default, bool))
    if not ok and want is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok and want is dict and isinstance(value, (list, tuple)):  # a table as the runner freezes it: pairs
        ok = all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value)
    if not ok:
        raise ValueError(f"codec {codec!r}: setting {key!r} must be {_type_word(default)} like its default "
                         f"{default!r}, got {type(value).__name__} {value!r}")


def _type_word(v: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(type(v), type(v).__name__)


MIN_PLAUSIBLE_BPP = 0.0005  # below any rate a codec here reaches: 16 000 pixels per byte of stream
DECODE_FLOOR_PIXELS = 1 << 20


def check_decode_size(codec: str, width: int, height: int, nbytes: int) -> None:
    """Refuse, before decoding, a stream whose header claims more pixels than it could carry (above
    8·nbytes / MIN_PLAUSIBLE_BPP, at least 1 MP) or than the input pixel limit (100 MP by default): a few
    hundred corrupted bytes must not make a decoder allocate and fill gigabytes (CodecError)."""
    from codecbench.imageio import max_pixels_limit

    limit = min(max_pixels_limit(), max(DECODE_FLOOR_PIXELS, int(8 * nbytes / MIN_PLAUSIBLE_BPP)))
    if width < 1 or height < 1 or width * height > limit:
        raise CodecError(f"{codec} stream of {nbytes} bytes claims {width}×{height} pixels, more than it could "
                         f"carry (limit {limit} pixels for this size); corrupted or hostile stream refused")


def bpp_of(data: bytes, height: int, width: int) -> float:
    """Bits per pixel of a bitstream over the original image's pixels: 8·len(bytes)/(H·W)."""
    return 8.0 * len(data) / float(height * width)


def check_image(image: np.ndarray, spec: CodecSpec | None = None) -> None:
    """Raise ValueError unless image is RGB uint8 H×W×3 (and at least spec.min_side on each side)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"expected an RGB uint8 H×W×3 array, got {got}")
    if spec is not None and min(image.shape[:2]) < spec.min_side:
        raise ValueError(
            f"codec {spec.name!r} needs images of at least {spec.min_side} px per side, "
            f"got {image.shape[1]}×{image.shape[0]}"
        )
