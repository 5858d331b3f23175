"""The runner: expand a suite into jobs, skip what the store already holds, execute the rest, store each point.

    summary = run_suite(load_suite("quick"))
    print("\\n".join(summary.lines()))

Expansion: every image of every dataset × every codec × every target (or every knob of a codec's sweep);
a fixed-rate codec (knob None, e.g. ``gan``) gives one job per image whatever the targets (target None).
Codecs are bound once in the main process to check availability and read their version (part of the key);
an unavailable codec is skipped with its reason unless the suite marks it ``required``.

The main process is the only store writer: records stream back from the executor and each is written in its
own transaction as soon as it arrives, so a killed run loses only the points in flight and a rerun computes
only the missing ones (and retries failed ones).
"""

from __future__ import annotations

import datetime as _dt
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import codecbench
from codecbench.bench.jobs import Job, codec_key_of, freeze
from codecbench.bench.store import Store, resolve_store
from codecbench.bench.suite import Suite


class RunError(RuntimeError):
    """The run cannot start (a required codec is unavailable, a dataset is missing, ...)."""


@dataclass
class SkippedCodec:
    label: str
    reason: str


@dataclass
class Plan:
    jobs: list[Job]
    skipped: list[SkippedCodec]
    codecs: dict[str, dict[str, Any]]  # label -> codec description
    images: int


@dataclass
class RunSummary:
    """What a run did. Times in seconds; work_s = Σ (rate control + decode + metric) over computed points."""

    suite: str
    store: Path
    planned: int
    already: int
    computed: int = 0
    ok: int = 0
    unreachable: int = 0
    failed: int = 0
    wall_s: float = 0.0
    work_s: float = 0.0
    workers: int = 1
    executor: str = "local"
    skipped: list[SkippedCodec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def ideal_s(self) -> float:
        """Work divided by workers: the wall time of a harness with no overhead."""
        return self.work_s / max(1, self.workers)

    @property
    def overhead(self) -> float | None:
        """(wall − work/workers) / wall: the fraction of wall time not spent coding or measuring."""
        if not self.computed or self.wall_s <= 0:
            return None
        return (self.wall_s - self.ideal_s) / self.wall_s

    def lines(self) -> list[str]:
        out = [f"suite {self.suite}: {self.planned} points planned, {self.already} already in the store, "
               f"{self.computed} computed ({self.ok} ok, {self.unreachable} unreachable, {self.failed} failed)"]
        for s in self.skipped:
            out.append(f"  skipped codec {s.label}: {s.reason}")
        if self.computed:
            ov = self.overhead
            out.append(
                f"wall {self.wall_s:.1f} s with {self.workers} worker(s) ({self.executor}); "
                f"encode+decode+metric time {self.work_s:.1f} s / {self.workers} = {self.ideal_s:.1f} s; "
                f"harness overhead {self.wall_s - self.ideal_s:.1f} s ({100 * ov:.1f} % of wall)"
            )
        out.extend(self.notes)
        for e in self.errors[:20]:
            out.append(f"  FAILED {e}")
        if len(self.errors) > 20:
            out.append(f"  ... and {len(self.errors) - 20} more failures (see the store's error field)")
        return out


def git_commit() -> str | None:
    """HEAD of the checkout this package runs from (None outside a git checkout)."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # pragma: no cover
        return False


def plan_suite(suite: Suite, *, keep_dir: str | Path | None = None, log: Callable[[str], None] | None = None
               ) -> Plan:
    """Bind codecs, load datasets and expand the suite into jobs (nothing is measured)."""
    from codecbench.bench.datasets import load_dataset
    from codecbench.codecs import registry
    from codecbench.codecs.spec import CodecUnavailable

    log = log or (lambda s: print(s, file=sys.stderr))
    skipped: list[SkippedCodec] = []
    bound: list[tuple[Any, Any, dict[str, Any]]] = []
    for entry in suite.codecs:
        try:
            codec = registry.create(entry.name, **entry.settings)
            desc = codec.describe()
        except (CodecUnavailable, KeyError, ImportError) as exc:
            reason = str(exc).strip("'\"")
            if entry.required:
                raise RunError(f"required codec {entry.label!r} cannot run: {reason}") from None
            skipped.append(SkippedCodec(entry.label, reason))
            log(f"skipping codec {entry.label}: {reason}")
            continue
        except ValueError as exc:  # bad settings are a suite error, never a silent skip
            raise RunError(f"codec {entry.label!r}: {exc}") from None
        bound.append((entry, codec, desc))
    if not bound:
        raise RunError("no codec of the suite can run here: " + "; ".join(f"{s.label}: {s.reason}" for s in skipped))

    images = []
    for ds in suite.datasets:
        try:
            dataset = load_dataset(ds.name, root=ds.root, split=ds.split, limit=ds.limit)
        except (ValueError, FileNotFoundError) as exc:
            raise RunError(f"dataset {ds.name!r}: {exc}") from None
        if suite.segmenter and not dataset.labelled:
            raise RunError(f"dataset {ds.name!r} has no labels, but the suite asks for segmenter "
                           f"{suite.segmenter.name!r} (mIoU needs ground truth)")
        images.extend(dataset.images[:: ds.stride or 1])

    gpu_models = bool(suite.segmenter) or any("gpu" in c.spec.requires or "device" in c.settings
                                                for _, c, _ in bound)
    cuda = gpu_models and _cuda_available()
    seg_opts = freeze(suite.segmenter.options) if suite.segmenter else ()
    seg_gpu = bool(suite.segmenter) and cuda and suite.segmenter.options.get("device", "auto") != "cpu"

    jobs: list[Job] = []
    for entry, codec, desc in bound:
        ckey = codec_key_of(desc)
        codec_gpu = cuda and "device" in codec.settings and codec.settings["device"] != "cpu"
        if codec.knob is None:
            points: list[tuple[float | None, float | None]] = [(None, None)]
        elif entry.knobs is not None:
            points = [(None, k) for k in entry.knobs]
        else:
            points = [(t, None) for t in suite.targets]
        for ref in images:
            for target, knob in points:
                jobs.append(Job(
                    image=ref, codec=entry.name, settings=freeze(entry.settings), label=entry.label,
                    codec_key=ckey, target_bpp=target, knob=knob, metrics=tuple(suite.metrics), mode=suite.mode,
                    device=suite.device, segmenter=suite.segmenter.name if suite.segmenter else None,
                    segmenter_options=seg_opts, keep_dir=str(keep_dir) if keep_dir else None,
                    timeout_s=suite.timeout, needs_gpu=bool(seg_gpu or codec_gpu),
                ))
    return Plan(jobs, skipped, {e.label: d for e, _, d in bound}, len(images))


def run_suite(
    suite: Suite,
    *,
    store: str | Path | None = None,
    workers: int | None = None,
    executor: str | None = None,
    progress: bool = True,
    keep: bool | None = None,
    retry_failed: bool = True,
    executor_options: dict[str, Any] | None = None,
    recompute: tuple[str, ...] | list[str] = (),
    log: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run a suite into a store (default ``<suite.output>/store.sqlite``) and return the summary.

    workers/executor/keep override the suite's values. keep writes each bitstream (.bin) and decoded image
    (.png) atomically under ``<store folder>/artifacts/``. retry_failed=False leaves stored failures alone.
    executor_options (e.g. ``{"scheduler": "tcp://host:8786"}``) extend the suite's ``[executor]`` options.
    recompute: codec labels whose stored points are deleted first and measured again (e.g. after a codec's
    behaviour changed without a version change).
    """
    from codecbench.bench import executors
    from codecbench.bench.progress import Progress

    log = log or (lambda s: print(s, file=sys.stderr))
    store_path = resolve_store(store if store is not None else suite.output)
    keep = suite.keep if keep is None else keep
    keep_dir = (store_path.parent / "artifacts").resolve() if keep else None
    n_workers = workers or suite.workers
    plan = plan_suite(suite, keep_dir=keep_dir, log=log)

    commit = git_commit()
    run_id = uuid.uuid4().hex[:12]
    unknown = sorted(set(recompute) - {c.label for c in suite.codecs})
    if unknown:
        raise RunError(f"--recompute: {', '.join(unknown)} is not a codec label of suite {suite.name!r}")
    with Store(store_path) as db:
        if recompute:
            log(f"recompute: removed {db.delete(recompute)} stored point(s) of {', '.join(recompute)}")
        done = db.done_keys(include_errors=not retry_failed)
        todo = [j for j in plan.jobs if j.key not in done]
        summary = RunSummary(suite.name, store_path, len(plan.jobs), len(plan.jobs) - len(todo),
                             workers=n_workers, executor=executor or suite.executor, skipped=plan.skipped)
        db.set_meta("suite", suite.as_dict())
        db.set_meta("codecs", plan.codecs)
        db.set_meta("last_run", {"run_id": run_id, "started": _now(), "git_commit": commit,
                                 "codecbench_version": codecbench.__version__, "jobs": len(todo)})
        bar = Progress(len(todo), enabled=progress, desc=suite.name)
        t0 = time.perf_counter()
        try:
            name = summary.executor  # the suite's [executor] options apply to the suite's executor only
            opts = {**(suite.executor_options if name == suite.executor else {}), **(executor_options or {})}
            try:
                ex = executors.create(name, workers=n_workers, **opts)
            except TypeError as exc:
                raise RunError(f"executor {name!r}: bad option ({exc})") from None
            with ex:
                for job, rec in ex.run(todo):
                    rec.update(codecbench_version=codecbench.__version__, git_commit=commit, run_id=run_id,
                               suite=suite.name, time=_now())
                    db.put(rec)
                    bar.update(rec)
                    _count(summary, job, rec)
                summary.notes.extend(ex.notes() if hasattr(ex, "notes") else [])
                summary.workers = getattr(ex, "workers", n_workers)  # a cluster reports its real size
        finally:
            bar.close()
            summary.wall_s = time.perf_counter() - t0
            db.set_meta("last_run", {"run_id": run_id, "git_commit": commit, "finished": _now(),
                                     "codecbench_version": codecbench.__version__, "jobs": len(todo),
                                     "wall_s": summary.wall_s, "work_s": summary.work_s, "workers": n_workers})
            db.compact()
    return summary


def _count(summary: RunSummary, job: Job, rec: dict[str, Any]) -> None:
    summary.computed += 1
    status = rec.get("status")
    if status == "ok":
        summary.ok += 1
    elif status == "unreachable":
        summary.unreachable += 1
    else:
        summary.failed += 1
        summary.errors.append(f"{job.label} {job.image.dataset}/{job.image.id} @ {job.target}: {rec.get('error')}")
    summary.work_s += sum(float(rec.get(k) or 0.0) for k in ("rate_s", "decode_s", "metric_s"))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def default_store(suite: Suite) -> Path:
    return resolve_store(suite.output)


__all__ = ["Plan", "RunError", "RunSummary", "SkippedCodec", "plan_suite", "run_suite", "git_commit"]
