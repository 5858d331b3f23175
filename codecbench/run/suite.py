"""Benchmark suites: TOML files declaring datasets, codecs, targets, metrics, segmenter and run options.

Example (see codecbench/suites/*.toml, the suites shipped inside the package)::

    [suite]
    name = "quick"
    targets = [0.125, 0.25, 0.5]          # bpp of the original image; or give per-codec `knobs`
    metrics = ["psnr", "psnr_y", "ssim", "ms_ssim"]
    precision = "float32"                 # of SSIM/MS-SSIM: float32 (fast, default) or float64 (reference)
    output = "runs/quick"                 # relative paths are relative to the working directory
    workers = 2
    on_bad_image = "skip"                 # an unreadable image: "skip" (record it, go on, exit 1) or "fail" (stop)
    max_pixels = 100_000_000              # larger images are refused from their header (default 100 MP)

    [[datasets]]
    name = "embedded"
    limit = 3

    [[codecs]]
    name = "jpeg"
    label = "JPEG"                        # optional, defaults to the name; must be unique
    settings = { subsampling = "4:2:0" }  # fixed settings, recorded with every point
    required = false                      # when true, an unavailable codec is an error, not a skip

    [segmenter]                           # optional: mIoU against the dataset's ground truth
    name = "espnet"
    options = { device = "auto" }

    [[segmenters]]                        # or several: each point is decoded once and segmented by each
    label = "published"                   # (unique; the first one also fills the point's plain mIoU fields)
    name = "espnet"
    options = { weights = "runs/ft-gan/weights.safetensors" }   # relative paths: to the suite file's folder

    [executor]                            # optional: where jobs run (default: local processes)
    name = "dask"                         # or [suite] executor = "dask"
    scheduler = "tcp://head:8786"         # other keys are options of that executor; none: a LocalCluster

Suites are found by name in ``$CODECBENCH_SUITES`` (a folder), then ``bench/suites`` of the source checkout
this package runs from, then ``bench/suites`` under the working directory, then the suites shipped in the
package (``codecbench/suites``, also present in an installed wheel); or given as a path to a .toml file.
Every error names the file and the key at fault.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from codecbench.run.suite_files import (  # noqa: F401 (re-exported: the suite API lives here)
    PACKAGE_SUITES,
    SUITES_ENV,
    SuiteError,
    available_suites,
    find_suite,
    suite_dirs,
)
from codecbench.run.suite_model import (  # noqa: F401 (re-exported: the suite API lives here)
    BAD_IMAGE_POLICIES,
    DEFAULT_METRICS,
    DEFAULT_SUITE,
    MODES,
    CodecEntry,
    DatasetSpec,
    SegmenterEntry,
    SegmenterSpec,
    Suite,
)


def load_suite(name_or_path: str | Path) -> Suite:
    """Read and validate a suite by name or path."""
    path = find_suite(name_or_path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML ({exc})") from None
    return parse_suite(data, path)


# ---------------------------------------------------------------------------------------------------------------
# Validation


class _Checker:
    def __init__(self, path: Path | None):
        self.where = str(path) if path else "<suite>"

    def fail(self, key: str, problem: str) -> SuiteError:
        return SuiteError(f"{self.where}: key '{key}': {problem}")

    def table(self, data: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, f"expected a table, got {type(data).__name__}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0],
                            f"unknown key; allowed keys here are {', '.join(sorted(allowed))}")
        return data

    def typed(self, data: dict, key: str, prefix: str, types: type | tuple, default: Any = None,
              required: bool = False) -> Any:
        full = f"{prefix}.{key}" if prefix else key
        if key not in data:
            if required:
                raise self.fail(full, "missing (required)")
            return default
        value = data[key]
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise self.fail(full, f"expected {_tname(types)}, got a boolean")
        if not isinstance(value, types):
            raise self.fail(full, f"expected {_tname(types)}, got {type(value).__name__} {value!r}")
        return value

    def rates(self, values: Any, key: str) -> tuple[float, ...]:
        if not isinstance(values, list) or not values:
            raise self.fail(key, "expected a non-empty list of numbers")
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(key, f"expected numbers, got {v!r}")
            if not math.isfinite(v):
                raise self.fail(key, f"expected finite numbers, got {v!r}")
            out.append(float(v))
        return tuple(out)


def _tname(types: type | tuple) -> str:
    ts = types if isinstance(types, tuple) else (types,)
    return " or ".join({str: "a string", int: "an integer", float: "a number", bool: "true/false",
                        list: "a list", dict: "a table"}.get(t, t.__name__) for t in ts)


_SUITE_KEYS = {"name", "description", "targets", "metrics", "mode", "device", "devices", "workers", "executor",
               "output", "timeout", "keep", "anchor", "precision", "on_bad_image", "max_pixels"}


def parse_suite(data: dict[str, Any], path: Path | None = None) -> Suite:
    """Validate a parsed TOML document into a :class:`Suite` (errors name the file and the key)."""
    c = _Checker(path)
    c.table(data, "", {"suite", "datasets", "codecs", "segmenter", "segmenters", "executor"})
    head = c.table(data.get("suite", {}), "suite", _SUITE_KEYS)
    name = c.typed(head, "name", "suite", str, default=path.stem if path else "suite")

    targets: tuple[float, ...] = ()
    if "targets" in head:
        targets = c.rates(head["targets"], "suite.targets")
        if any(t <= 0 for t in targets):
            raise c.fail("suite.targets", "every target must be a positive bpp")
        if len(set(targets)) != len(targets):
            raise c.fail("suite.targets", "targets repeat")
        targets = tuple(sorted(targets))

    metrics = c.typed(head, "metrics", "suite", list, default=list(DEFAULT_METRICS))
    if not all(isinstance(m, str) for m in metrics):
        raise c.fail("suite.metrics", "expected a list of metric names")
    FIDELITY_METRICS: tuple[str, ...]
    try:
        from codecbench.metrics.fidelity import KNOWN_METRICS as FIDELITY_METRICS
    except ImportError:  # pragma: no cover - while the metrics module is absent
        FIDELITY_METRICS = DEFAULT_METRICS
    bad = [m for m in metrics if m not in FIDELITY_METRICS]
    if bad:
        raise c.fail("suite.metrics", f"unknown metric {bad[0]!r}; known: {', '.join(FIDELITY_METRICS)} "
                                      "(mIoU comes from [segmenter])")

    precision = c.typed(head, "precision", "suite", str, default="float32")
    if precision not in ("float32", "float64"):
        raise c.fail("suite.precision", f"expected float32 or float64, got {precision!r}")

    mode = c.typed(head, "mode", "suite", str, default="below")
    if mode not in MODES:
        raise c.fail("suite.mode", f"expected one of {', '.join(MODES)}, got {mode!r}")
    device = c.typed(head, "device", "suite", str, default="cpu")
    if "devices" in head:  # accepted alias: a list whose first entry is used for metrics
        devs = head["devices"]
        if not isinstance(devs, list) or not devs or not all(isinstance(d, str) for d in devs):
            raise c.fail("suite.devices", "expected a non-empty list of device names")
        device = devs[0]
    if device not in ("cpu", "cuda", "auto") and not device.startswith("cuda:"):
        raise c.fail("suite.device", f"expected cpu, cuda, cuda:N or auto, got {device!r}")
    workers = c.typed(head, "workers", "suite", int, default=1)
    if workers < 1:
        raise c.fail("suite.workers", "must be at least 1")
    executor = c.typed(head, "executor", "suite", str, default="local")
    executor_options: dict[str, Any] = {}
    if "executor" in data:  # [executor] name = "dask", scheduler = "tcp://host:8786", ... (options of that executor)
        raw_ex = data["executor"]
        ex = c.table(raw_ex, "executor", set(raw_ex) if isinstance(raw_ex, dict) else set())
        ex_name = c.typed(ex, "name", "executor", str, default=executor)
        if "executor" in head and ex_name != executor:
            raise c.fail("executor.name", f"{ex_name!r} contradicts suite.executor = {executor!r}")
        executor = ex_name
        executor_options = {k: v for k, v in ex.items() if k != "name"}
    output = c.typed(head, "output", "suite", str, default=f"runs/{name}")
    timeout = c.typed(head, "timeout", "suite", (int, float), default=600.0)
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise c.fail("suite.timeout", "must be a positive, finite number of seconds")
    on_bad_image = c.typed(head, "on_bad_image", "suite", str, default="skip")
    if on_bad_image not in BAD_IMAGE_POLICIES:
        raise c.fail("suite.on_bad_image", f"expected one of {', '.join(BAD_IMAGE_POLICIES)}, got {on_bad_image!r}")
    max_pixels = c.typed(head, "max_pixels", "suite", int, default=None)
    if max_pixels is not None and max_pixels < 1:
        raise c.fail("suite.max_pixels", "must be a positive number of pixels")
    keep = c.typed(head, "keep", "suite", bool, default=False)
    anchor = c.typed(head, "anchor", "suite", str, default=None)
    description = c.typed(head, "description", "suite", str, default="")

    raw_ds = data.get("datasets")
    if not isinstance(raw_ds, list) or not raw_ds:
        raise c.fail("datasets", "missing: declare at least one [[datasets]] table")
    datasets = []
    for i, d in enumerate(raw_ds):
        pre = f"datasets[{i}]"
        c.table(d, pre, {"name", "root", "split", "limit", "stride"})
        limit = c.typed(d, "limit", pre, int)
        if limit is not None and limit < 1:
            raise c.fail(f"{pre}.limit", "must be at least 1")
        stride = c.typed(d, "stride", pre, int)
        if stride is not None and stride < 1:
            raise c.fail(f"{pre}.stride", "must be at least 1")
        root = c.typed(d, "root", pre, str)
        if root is not None and path is not None and not Path(root).expanduser().is_absolute():
            root = str((path.parent / root).resolve()) if (path.parent / root).exists() else root
        datasets.append(DatasetSpec(c.typed(d, "name", pre, str, required=True), root,
                                    c.typed(d, "split", pre, str), limit, stride))

    raw_codecs = data.get("codecs")
    if not isinstance(raw_codecs, list) or not raw_codecs:
        raise c.fail("codecs", "missing: declare at least one [[codecs]] table")
    codecs: list[CodecEntry] = []
    labels: set[str] = set()
    for i, d in enumerate(raw_codecs):
        pre = f"codecs[{i}]"
        c.table(d, pre, {"name", "label", "settings", "required", "knobs"})
        cname = c.typed(d, "name", pre, str, required=True)
        label = c.typed(d, "label", pre, str, default=cname)
        if label in labels:
            raise c.fail(f"{pre}.label", f"label {label!r} is used twice; give each codec entry its own label")
        labels.add(label)
        settings = c.typed(d, "settings", pre, dict, default={})
        knobs = c.rates(d["knobs"], f"{pre}.knobs") if "knobs" in d else None
        codecs.append(CodecEntry(cname, label, dict(settings), c.typed(d, "required", pre, bool, default=False),
                                 knobs))
    if not targets and any(e.knobs is None for e in codecs):
        raise c.fail("suite.targets", "missing: give target bitrates, or `knobs` for every codec")

    segmenter = None
    if "segmenter" in data:
        s = c.table(data["segmenter"], "segmenter", {"name", "options"})
        segmenter = SegmenterSpec(c.typed(s, "name", "segmenter", str, required=True),
                                  dict(c.typed(s, "options", "segmenter", dict, default={})))
    segmenters = _segmenters(c, data, path)
    if segmenters:
        if segmenter is not None:
            raise c.fail("segmenters", "give either [segmenter] or [[segmenters]], not both")
        segmenter = SegmenterSpec(segmenters[0].name, dict(segmenters[0].options))
    if anchor is not None and anchor not in labels:
        raise c.fail("suite.anchor", f"{anchor!r} is not the label of a codec in this suite")

    return Suite(name=name, path=path, datasets=datasets, codecs=codecs, targets=targets,
                 metrics=tuple(metrics), segmenter=segmenter, mode=mode, device=device, workers=workers,
                 executor=executor, executor_options=executor_options, output=output,
                 timeout=float(timeout) if timeout else None, keep=keep,
                 anchor=anchor, description=description, precision=precision,
                 segmenters=segmenters, on_bad_image=on_bad_image, max_pixels=max_pixels)


def _segmenters(c: _Checker, data: dict[str, Any], path: Path | None) -> list[SegmenterEntry]:
    """The ``[[segmenters]]`` entries; a relative ``options.weights`` is resolved against the suite's folder."""
    raw = data.get("segmenters")
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        raise c.fail("segmenters", "expected a non-empty array of tables ([[segmenters]])")
    out: list[SegmenterEntry] = []
    for i, d in enumerate(raw):
        pre = f"segmenters[{i}]"
        c.table(d, pre, {"label", "name", "options"})
        label = c.typed(d, "label", pre, str, required=True)
        if any(e.label == label for e in out):
            raise c.fail(f"{pre}.label", f"label {label!r} is used twice; give each segmenter its own label")
        options = dict(c.typed(d, "options", pre, dict, default={}))
        weights = options.get("weights")
        if isinstance(weights, str) and path is not None and not Path(weights).expanduser().is_absolute():
            options["weights"] = str((path.parent / weights).resolve())
        out.append(SegmenterEntry(label, c.typed(d, "name", pre, str, required=True), options))
    return out
