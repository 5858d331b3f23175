"""Measure the Dask executor on this machine: speed-up of 1 → 2 workers on a subset of the `kodak` suite,
per-point costs from the store records, the scheduler's per-task overhead on a LocalCluster, the store
writer's cost per point and ESPNet's CPU time per frame. Writes ``<out>/scaling.json``; the figures and the
cluster-scale estimate built from them are in results/dask/README.md.

    python bench/dask_scaling.py --images 4 --workers 1 2 --out results/dask

Needs ../shared (Kodak; the ESPNet weights and CamVid for the segmentation cost) and the dask extra.
Times are wall seconds; each run starts from an empty temporary store, cluster start-up included.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def _noop(i: int) -> int:
    return i


def kodak_subset(images: int):
    from codecbench.run.suite import load_suite

    suite = load_suite("kodak")
    suite.datasets = [dataclasses.replace(d, limit=images) for d in suite.datasets]
    suite.output = "unused"
    return suite


def run_once(suite, workers: int, executor: str) -> dict:
    from codecbench.run.runner import run_suite
    from codecbench.run.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        load0 = os.getloadavg()
        summary = run_suite(suite, store=Path(tmp) / "store.sqlite", workers=workers, executor=executor,
                            progress=False, log=lambda s: None)
        load1 = os.getloadavg()
        with Store(Path(tmp) / "store.sqlite", read_only=True) as db:
            records = list(db.records())
    return {"executor": executor, "workers": workers, "points": summary.computed, "failed": summary.failed,
            "wall_s": summary.wall_s, "work_s": summary.work_s, "ideal_s": summary.ideal_s,
            "notes": summary.notes, "skipped": [f"{s.label}: {s.reason}" for s in summary.skipped],
            "loadavg_before": load0, "loadavg_after": load1, "records": records}


def per_codec(records: list[dict]) -> dict:
    """Mean per-point costs (s) per codec: all encodes of rate control, one encode, encodes, decode, metrics."""
    groups = defaultdict(list)
    for r in records:
        if r.get("status") in ("ok", "unreachable"):
            groups[r["codec"]].append(r)
    out = {}
    for codec, rs in sorted(groups.items()):
        def mean(k):
            return statistics.fmean(float(r.get(k) or 0.0) for r in rs)

        out[codec] = {"points": len(rs), "rate_s": mean("rate_s"), "encode_s": mean("encode_s"),
                      "encodes": mean("encodes"), "decode_s": mean("decode_s"), "metric_s": mean("metric_s"),
                      "job_s": mean("job_s"), "pixels": statistics.fmean(r["width"] * r["height"] for r in rs)}
    return out


def scheduler_overhead(workers: int, tasks: int, repeats: int) -> dict:
    """Wall seconds per no-op task through a bounded window + as_completed on a LocalCluster (median)."""
    from distributed import Client, LocalCluster, as_completed

    times = []
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        window = max(4, 2 * workers)
        for _ in range(repeats):
            t0 = time.perf_counter()
            ac = as_completed()
            submitted = 0
            while submitted < min(window, tasks):
                ac.add(client.submit(_noop, submitted, pure=False))
                submitted += 1
            for fut in ac:
                fut.result()
                fut.release()
                if submitted < tasks:
                    ac.add(client.submit(_noop, submitted, pure=False))
                    submitted += 1
            times.append((time.perf_counter() - t0) / tasks)
    return {"workers": workers, "tasks": tasks, "per_task_s": statistics.median(times), "repeats": times}


def store_put_cost(record: dict, n: int) -> float:
    from codecbench.run.store import Store

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s.sqlite") as db:
        t0 = time.perf_counter()
        for i in range(n):
            db.put({**record, "image_hash": f"h{i}", "status": "ok"})
        return (time.perf_counter() - t0) / n


def espnet_cost(repeats: int) -> dict | None:
    """Median CPU seconds (1 torch thread) of ESPNet on one CamVid test frame, 480×360."""
    try:
        import torch

        from codecbench.datasets import load_dataset, load_image
        from codecbench.metrics.segmenters import registry

        torch.set_num_threads(1)
        ref = load_dataset("camvid", split="test", limit=1).images[0]
        image = load_image(ref)[None]
        seg = registry.create("espnet", device="cpu")
        seg.predict(image)  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            seg.predict(image)
            times.append(time.perf_counter() - t0)
        return {"pixels": int(image.shape[1] * image.shape[2]), "per_frame_s": statistics.median(times),
                "repeats": times}
    except Exception as exc:  # shared data absent: say so in the output
        return {"error": f"{type(exc).__name__}: {exc}"}


KODAK_PX = 768 * 512
CITYSCAPES_PX = 2048 * 1024


def estimate(result: dict, frames: int = 5000, codecs: int = 8, targets: int = 10, workers: int = 100,
             run_workers: int | None = None) -> dict:
    """Wall time of a frames × codecs × targets study on `workers` single-thread workers, from measured costs.

    Per point: the measured mean (rate control + decode + metrics) of each codec at Kodak size, scaled by pixels
    to 2048×1024; codecs beyond those measured cost the mean of the measured ones; plus one ESPNet pass on the
    decoded frame (CPU, scaled by pixels from 480×360). Scheduler: the measured no-op round trip per task
    (2 workers) is the client+scheduler time per task, serial at the scheduler; store: one put per point, serial.
    """
    runs = result["runs"]  # per-point costs of the run with run_workers workers (default: the fewest, least contended)
    run = next(r for r in runs if r["workers"] == run_workers) if run_workers else min(runs, key=lambda r: r["workers"])
    costs = {c: v["rate_s"] + v["decode_s"] + v["metric_s"] for c, v in run["per_codec"].items()}
    px = statistics.fmean(v["pixels"] for v in run["per_codec"].values())
    scale = CITYSCAPES_PX / px
    mean_codec = statistics.fmean(costs.values())
    per_codec_city = {c: v * scale for c, v in costs.items()}
    codec_s = (sum(per_codec_city.values()) + max(0, codecs - len(costs)) * mean_codec * scale) / codecs
    seg = result.get("espnet") or {}
    seg_s = seg["per_frame_s"] * CITYSCAPES_PX / seg["pixels"] if "per_frame_s" in seg else float("nan")
    point_s = codec_s + seg_s
    points = frames * codecs * targets
    work_s = points * point_s
    sched = next(o for o in result["scheduler_overhead"] if o["workers"] == 2)["per_task_s"]
    sched_total = points * sched
    store_total = points * result["store_put_s"]
    compute_wall = work_s / workers
    # the scheduler and the store writer run beside the workers; the study is bound by the slowest of the three
    wall = max(compute_wall, sched_total, store_total) + sched * workers  # + one round of dispatch latency
    return {"costs_from_run_with_workers": run["workers"], "frames": frames, "codecs": codecs, "targets": targets,
            "workers": workers, "points": points, "pixel_scale": scale,
            "per_codec_point_s_at_2048x1024": per_codec_city,
            "codec_point_s": codec_s, "segmentation_point_s": seg_s, "point_s": point_s, "work_s": work_s,
            "compute_wall_s": compute_wall, "scheduler_serial_s": sched_total, "store_serial_s": store_total,
            "wall_s": wall, "wall_h": wall / 3600}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=4, help="Kodak images of the subset (kodim01..)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--executor", default="dask")
    ap.add_argument("--tasks", type=int, default=400, help="no-op tasks for the scheduler overhead")
    ap.add_argument("--out", default="results/dask")
    ap.add_argument("--estimate-only", action="store_true", help="recompute the estimate from <out>/scaling.json")
    args = ap.parse_args()

    out = Path(args.out)
    if args.estimate_only:
        result = json.loads((out / "scaling.json").read_text())
        result["estimate"] = estimate(result)
        result["estimate_contended"] = estimate(result, run_workers=max(r["workers"] for r in result["runs"]))
        print(json.dumps(result["estimate"], indent=1))
        (out / "scaling.json").write_text(json.dumps(result, indent=1))
        return
    out.mkdir(parents=True, exist_ok=True)
    suite = kodak_subset(args.images)
    result: dict = {"machine": {"cpu_count": os.cpu_count()}, "subset_images": args.images, "runs": []}
    for n in args.workers:
        r = run_once(suite, n, args.executor)
        records = r.pop("records")
        r["per_codec"] = per_codec(records)
        result["runs"].append(r)
        print(f"{args.executor} workers={n}: {r['points']} points, wall {r['wall_s']:.1f} s, work {r['work_s']:.1f} s,"
              f" load {r['loadavg_before'][0]:.1f}->{r['loadavg_after'][0]:.1f}", flush=True)
        (out / "scaling.json").write_text(json.dumps(result, indent=1))
        last = records
    walls = {r["workers"]: r["wall_s"] for r in result["runs"]}
    if 1 in walls and 2 in walls:
        result["speedup_1_to_2"] = walls[1] / walls[2]
        print(f"speed-up 1 -> 2 workers: {result['speedup_1_to_2']:.2f}x")
    result["scheduler_overhead"] = [scheduler_overhead(n, args.tasks, 3) for n in (1, 2)]
    for o in result["scheduler_overhead"]:
        print(f"no-op task round trip, {o['workers']} worker(s): {1e3 * o['per_task_s']:.2f} ms/task")
    result["store_put_s"] = store_put_cost(last[0], 500)
    print(f"store writer: {1e3 * result['store_put_s']:.2f} ms/point")
    result["espnet"] = espnet_cost(5)
    print(f"ESPNet CPU: {result['espnet']}")
    if "per_frame_s" in (result["espnet"] or {}):
        result["estimate"] = estimate(result)
        result["estimate_contended"] = estimate(result, run_workers=max(r["workers"] for r in result["runs"]))
        print(json.dumps(result["estimate"], indent=1))
    (out / "scaling.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
