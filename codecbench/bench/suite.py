"""Benchmark suites: TOML files declaring datasets, codecs, targets, metrics, segmenter and run options.

Example (see bench/suites/*.toml)::

    [suite]
    name = "quick"
    targets = [0.125, 0.25, 0.5]          # bpp of the original image; or give per-codec `knobs`
    metrics = ["psnr", "psnr_y", "ssim", "ms_ssim"]
    output = "runs/quick"                 # relative paths are relative to the working directory
    workers = 2

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

    [executor]                            # optional: where jobs run (default: local processes)
    name = "dask"                         # or [suite] executor = "dask"
    scheduler = "tcp://head:8786"         # other keys are options of that executor; none: a LocalCluster

Suites are found by name in ``$CODECBENCH_SUITES`` (a folder), then ``bench/suites`` of the source checkout
this package runs from, then ``bench/suites`` under the working directory; or given as a path to a .toml file.
Every error names the file and the key at fault.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUITES_ENV = "CODECBENCH_SUITES"
DEFAULT_SUITE = "quick"
MODES = ("below", "nearest")
DEFAULT_METRICS = ("psnr", "psnr_y", "ssim", "ms_ssim")


class SuiteError(ValueError):
    """A suite file is missing or invalid; the message names the file and the key."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    root: str | None = None
    split: str | None = None
    limit: int | None = None
    stride: int | None = None  # keep every stride-th image (after limit), e.g. a documented subset of a split


@dataclass(frozen=True)
class CodecEntry:
    name: str
    label: str
    settings: dict[str, Any] = field(default_factory=dict)
    required: bool = False
    knobs: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SegmenterSpec:
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suite:
    """A validated suite. targets: bpp list (sorted ascending), empty when every codec sweeps its knob."""

    name: str
    path: Path | None
    datasets: list[DatasetSpec]
    codecs: list[CodecEntry]
    targets: tuple[float, ...]
    metrics: tuple[str, ...] = DEFAULT_METRICS
    segmenter: SegmenterSpec | None = None
    mode: str = "below"
    device: str = "cpu"
    workers: int = 1
    executor: str = "local"
    executor_options: dict[str, Any] = field(default_factory=dict)  # from [executor], e.g. scheduler
    output: str = "runs/default"
    timeout: float | None = 600.0
    keep: bool = False
    anchor: str | None = None
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path) if self.path else None,
            "datasets": [vars(d) for d in self.datasets],
            "codecs": [{**vars(c), "knobs": list(c.knobs) if c.knobs else None} for c in self.codecs],
            "targets": list(self.targets),
            "metrics": list(self.metrics),
            "segmenter": vars(self.segmenter) if self.segmenter else None,
            "mode": self.mode,
            "device": self.device,
            "workers": self.workers,
            "executor": self.executor,
            "executor_options": dict(self.executor_options),
            "output": self.output,
            "timeout": self.timeout,
            "keep": self.keep,
            "anchor": self.anchor,
        }


# ---------------------------------------------------------------------------------------------------------------
# Finding suites


def suite_dirs() -> list[Path]:
    """Folders searched for suites by name, in order."""
    dirs = []
    env = os.environ.get(SUITES_ENV)
    if env:
        dirs.append(Path(env).expanduser())
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        dirs.append(checkout / "bench" / "suites")
    dirs.append(Path.cwd() / "bench" / "suites")
    seen, out = set(), []
    for d in dirs:
        r = d.resolve()
        if r not in seen:
            seen.add(r)
            out.append(r)
    return out


def available_suites() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in suite_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.toml")):
                found.setdefault(p.stem, p)
    return found


def find_suite(name_or_path: str | Path) -> Path:
    """The file of a suite given by name ("quick") or path ("my/suite.toml")."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise SuiteError(f"{p}: suite file not found")
        return p.resolve()
    found = available_suites()
    if str(name_or_path) in found:
        return found[str(name_or_path)]
    where = ", ".join(str(d) for d in suite_dirs())
    known = ", ".join(sorted(found)) or "none"
    raise SuiteError(
        f"suite {str(name_or_path)!r} not found in {where} (known: {known}); pass a path to a .toml file "
        f"or set {SUITES_ENV} to a folder of suites"
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
            out.append(float(v))
        return tuple(out)


def _tname(types: type | tuple) -> str:
    ts = types if isinstance(types, tuple) else (types,)
    return " or ".join({str: "a string", int: "an integer", float: "a number", bool: "true/false",
                        list: "a list", dict: "a table"}.get(t, t.__name__) for t in ts)


_SUITE_KEYS = {"name", "description", "targets", "metrics", "mode", "device", "devices", "workers", "executor",
               "output", "timeout", "keep", "anchor"}


def parse_suite(data: dict[str, Any], path: Path | None = None) -> Suite:
    """Validate a parsed TOML document into a :class:`Suite` (errors name the file and the key)."""
    c = _Checker(path)
    c.table(data, "", {"suite", "datasets", "codecs", "segmenter", "executor"})
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
    try:
        from codecbench.metrics.fidelity import FIDELITY_METRICS
    except ImportError:  # pragma: no cover - while the metrics module is absent
        FIDELITY_METRICS = DEFAULT_METRICS
    bad = [m for m in metrics if m not in FIDELITY_METRICS]
    if bad:
        raise c.fail("suite.metrics", f"unknown metric {bad[0]!r}; known: {', '.join(FIDELITY_METRICS)} "
                                      "(mIoU comes from [segmenter])")

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
    if timeout is not None and timeout <= 0:
        raise c.fail("suite.timeout", "must be a positive number of seconds")
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
    if anchor is not None and anchor not in labels:
        raise c.fail("suite.anchor", f"{anchor!r} is not the label of a codec in this suite")

    return Suite(name=name, path=path, datasets=datasets, codecs=codecs, targets=targets,
                 metrics=tuple(metrics), segmenter=segmenter, mode=mode, device=device, workers=workers,
                 executor=executor, executor_options=executor_options, output=output,
                 timeout=float(timeout) if timeout else None, keep=keep,
                 anchor=anchor, description=description)
