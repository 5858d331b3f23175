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

Robustness (issue 11):
- An image that cannot be loaded is one failed record (see :mod:`codecbench.run.badinputs`); the run goes on
  and exits 1, unless the suite says ``on_bad_image = "fail"``, which stops it before the first encode.
- Everything the suite names is checked before the first encode: codec settings, knob ranges, the segmenter
  and its weights. Errors name the suite file and the key.
- Each point is claimed (a lease, :mod:`codecbench.run.leases`) before it is computed, so concurrent runs into
  one store never compute a point twice; the summary counts only the points this run stored.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import codecbench
from codecbench.errors import UnknownName
from codecbench.run.badinputs import record_bad_images
from codecbench.run.checks import RunError, check_knobs, check_segmenter, every_nth, unprefixed
from codecbench.run.frozen_settings import freeze
from codecbench.run.groups import expand, group_jobs
from codecbench.run.jobs import Job
from codecbench.run.leases import Leases, make_owner
from codecbench.run.point_keys import codec_key_of
from codecbench.run.record import PointRecord
from codecbench.run.store import Store, resolve_store
from codecbench.run.suite import Suite
from codecbench.run.summary import Plan, RunSummary, SkippedCodec


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
    from codecbench.codecs import registry
    from codecbench.codecs.spec import CodecUnavailable
    from codecbench.datasets import load_dataset

    log = log or (lambda s: print(s, file=sys.stderr))
    where = str(suite.path) if suite.path else f"suite {suite.name!r}"
    skipped: list[SkippedCodec] = []
    bound: list[tuple[Any, Any, dict[str, Any]]] = []
    for i, entry in enumerate(suite.codecs):
        key = f"codecs[{i}]"
        try:
            codec = registry.create(entry.name, **entry.settings)
            desc = codec.describe()
        except UnknownName as exc:  # an unknown name (a typo such as "jepg") is a suite error, never a skip
            raise RunError(f"{where}: key '{key}.name': {exc}") from None
        except (CodecUnavailable, ImportError) as exc:  # PluginUnavailable too
            reason = unprefixed(str(exc), entry.name)
            if entry.required:
                raise RunError(f"{where}: key '{key}': required codec {entry.label!r} cannot run: {reason}") from None
            skipped.append(SkippedCodec(entry.label, reason))
            log(f"skipping codec {entry.label}: {reason}")
            continue
        except (ValueError, TypeError) as exc:  # bad settings are a suite error, never a silent skip
            raise RunError(f"{where}: key '{key}.settings': codec {entry.label!r}: "
                           f"{unprefixed(str(exc), entry.name)}") from None
        check_knobs(codec, entry, where, key)
        bound.append((entry, codec, desc))
    if not bound:
        raise RunError("no codec of the suite can run here: " + "; ".join(f"{s.label}: {s.reason}" for s in skipped))
    if suite.segmenter:
        check_segmenter(suite, where)

    images = []
    bad: list = []
    ignored: list[str] = []
    for i, ds in enumerate(suite.datasets):
        try:
            dataset = load_dataset(ds.name, root=ds.root, split=ds.split, limit=ds.limit, skip_bad=True,
                                   max_pixels=suite.max_pixels)
        except (ValueError, FileNotFoundError) as exc:
            raise RunError(f"{where}: key 'datasets[{i}]': dataset {ds.name!r}: {exc}") from None
        if suite.segmenter and not dataset.labelled and dataset.images:
            raise RunError(f"{where}: key 'datasets[{i}]': dataset {ds.name!r} has no labels, but the suite asks "
                           f"for segmenter {suite.segmenter.name!r} (mIoU needs ground truth)")
        good, bad_here = every_nth(dataset.images, dataset.bad, ds.stride or 1)
        images.extend(good)
        bad.extend(bad_here)
        ignored.extend(f"{ds.root}/{name}" if ds.root else name for name in dataset.ignored)
    if bad and suite.on_bad_image == "fail":
        raise RunError(f"{where}: {len(bad)} image(s) cannot be loaded and the suite says on_bad_image = \"fail\": "
                       + "; ".join(b.error for b in bad[:10]) + (" ..." if len(bad) > 10 else ""))

    gpu_models = bool(suite.segmenter) or any("gpu" in c.spec.requires or "device" in c.settings
                                                for _, c, _ in bound)
    cuda = gpu_models and _cuda_available()
    seg_opts = freeze(suite.segmenter.options) if suite.segmenter else ()
    many = tuple((e.label, e.name, freeze(e.options)) for e in suite.segmenters)  # [[segmenters]] (multiseg)
    seg_gpu = suite.segmenter is not None and cuda and suite.segmenter.options.get("device", "auto") != "cpu"

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
                    image=ref, codec=entry.name, settings=freeze(entry.settings), codec_label=entry.label,
                    codec_key=ckey, target_bpp=target, knob=knob, metrics=tuple(suite.metrics), mode=suite.mode,
                    precision=suite.precision,
                    device=suite.device, segmenter=suite.segmenter.name if suite.segmenter and not many else None,
                    segmenter_options=seg_opts if not many else (), segmenters=many,
                    keep_dir=str(keep_dir) if keep_dir else None,
                    timeout_s=suite.timeout, needs_gpu=bool(seg_gpu or codec_gpu),
                ))
    return Plan(jobs, skipped, {e.label: d for e, _, d in bound}, len(images), bad, ignored, images)


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
    group_targets: bool = True,
) -> RunSummary:
    """Run a suite into a store (default ``<suite.output>/store.sqlite``) and return the summary.

    workers/executor/keep override the suite's values. keep writes each bitstream (.bin) and decoded image
    (.png) atomically under ``<store folder>/artifacts/``. retry_failed=False leaves stored failures alone.
    executor_options (e.g. ``{"scheduler": "tcp://host:8786"}``) extend the suite's ``[executor]`` options.
    recompute: codec labels whose stored points are deleted first and measured again (e.g. after a codec's
    behaviour changed without a version change).
    group_targets: measure the missing targets of each (image, codec) in one job sharing its rate-control
    probes (:mod:`codecbench.run.groups`); False runs one job per target (the previous behaviour).
    """

    from codecbench.run import executors
    from codecbench.run.progress import Progress
    from codecbench.run.provenance import git_describe, versions

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
        started = _now()
        record_bad_images(db, plan.bad, plan.image_refs, dict(codecbench_version=codecbench.__version__,
                          git_commit=commit, run_id=run_id, suite=suite.name, time=started))
        done = db.done_keys(include_errors=not retry_failed)
        todo = [j for j in plan.jobs if j.key not in done]
        summary = RunSummary(suite.name, store_path, len(plan.jobs), len(plan.jobs) - len(todo),
                             workers=n_workers, executor=executor or suite.executor, skipped=plan.skipped,
                             bad_images=[b.error for b in plan.bad], ignored=plan.ignored)
        db.set_meta("suite", suite.as_dict())
        db.set_meta("codecs", plan.codecs)
        db.set_current({label: codec_key_of(d) for label, d in plan.codecs.items()})
        db.set_meta("last_run", {"run_id": run_id, "started": started, "git_commit": commit,
                                 "codecbench_version": codecbench.__version__, "jobs": len(todo)})
        db.begin_run(run_id, argv=list(sys.argv), started=_now(), git_describe=git_describe(),
                     versions=versions(plan.codecs), suite=suite.name)
        bar = Progress(len(todo), enabled=progress, desc=suite.name)
        t0 = time.perf_counter()
        leases = Leases(store_path, owner=make_owner(run_id), since=started)
        try:
            leases.start_heartbeat()
            name = summary.executor  # the suite's [executor] options apply to the suite's executor only
            opts = {**(suite.executor_options if name == suite.executor else {}), **(executor_options or {})}
            stamp = dict(codecbench_version=codecbench.__version__, git_commit=commit, run_id=run_id, suite=suite.name)

            def stored_elsewhere(job: Job, waited: bool) -> None:  # by a concurrent run since this one started
                summary.already += 1
                summary.waited += waited

            def waiting(busy: list[Job]) -> None:
                holders = ", ".join(o.split("|")[1] + "@" + o.split("|")[0] for o in leases.holders())
                log(f"{len(busy)} point(s) are being computed by another run into {store_path} "
                    f"(pid {holders or '?'}); waiting for them, or for their leases to expire")

            for batch in leases.batches(todo, key=lambda j: j.key, on_done=stored_elsewhere, on_wait=waiting):
                _execute(batch, executors, name, n_workers, opts, db, leases, bar, summary, stamp, group_targets)
        finally:
            leases.close()
            bar.close()
            summary.wall_s = time.perf_counter() - t0
            db.set_meta("last_run", {"run_id": run_id, "git_commit": commit, "finished": _now(),
                                     "codecbench_version": codecbench.__version__, "jobs": len(todo),
                                     "wall_s": summary.wall_s, "work_s": summary.work_s, "workers": n_workers})
            db.end_run(run_id, finished=_now(), summary={
                "planned": summary.planned, "already": summary.already, "computed": summary.computed,
                "ok": summary.ok, "unreachable": summary.unreachable, "failed": summary.failed,
                "wall_s": summary.wall_s, "work_s": summary.work_s, "workers": summary.workers,
                "executor": summary.executor})
            db.compact()
    return summary



def _execute(batch: list[Job], executors: Any, name: str, n_workers: int, opts: dict[str, Any], db: Store,
             leases: Leases, bar: Any, summary: "RunSummary", stamp: dict[str, Any], group_targets: bool) -> None:
    """Run claimed jobs on the executor (the targets of one image and codec grouped, see run.groups); store each
    record as it arrives and drop its lease."""
    try:
        ex = executors.create(name, workers=n_workers, **opts)
    except TypeError as exc:
        raise RunError(f"executor {name!r}: bad option ({exc})") from None
    units = group_jobs(batch) if group_targets else batch
    with ex:
        for job, rec in (pair for unit, out in ex.run(units) for pair in expand(unit, out)):
            rec.stamp(**stamp, time=_now())
            stored = db.put(rec)
            leases.release([job.key])
            bar.update(rec)
            if stored:
                _count(summary, job, rec)
            else:
                summary.not_stored += 1
        summary.notes.extend(ex.notes() if hasattr(ex, "notes") else [])
        summary.workers = getattr(ex, "workers", n_workers)  # a cluster reports its real size


def _count(summary: RunSummary, job: Job, rec: PointRecord) -> None:
    summary.computed += 1
    status = rec.get("status")
    if status == "ok":
        summary.ok += 1
    elif status == "unreachable":
        summary.unreachable += 1
    else:
        summary.failed += 1
        where = f"{job.image.dataset}/{job.image.id} @ {job.target}"
        summary.errors.append(f"{job.codec_label} {where}: {rec.get('error')}")
    summary.work_s += sum(float(rec.get(k) or 0.0) for k in ("rate_s", "decode_s", "metric_s"))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


__all__ = ["Plan", "RunError", "RunSummary", "SkippedCodec", "plan_suite", "run_suite", "git_commit"]
