"""What a GAN training run's log says about its health (RUN/log.jsonl, written by ``codecbench gan train``).

A run has *collapsed* when some validation PSNR (8 held-out frames, real bitstream) falls below COLLAPSE_DB dB: every
frame then decodes to the same flat image. Its *onset* is the first logged training MSE (pixels in the trainer's
range, every 50 steps) above SPIKE_RATIO times the median of the ten logged before it; the onset's phase says whether
it came in the pure-MSE warm-up (before ``gan_start``) or after the GAN terms were switched on. Healthy runs of the
sweep spike at most 26x at the GAN onset and recover, so the ratio alone does not mark a collapse. A run is *dead*
once it has stayed collapsed for DEAD_AFTER steps of validations: no collapsed run of the sweep ever recovered (the
longest was followed for 8000 steps), so the sweep stops such a run and keeps its snapshots from before.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

COLLAPSE_DB = 8.0
SPIKE_RATIO = 20.0
STOPPED = "stopped_dead.json"  # written into a run folder when the sweep stopped it as dead
DEAD_AFTER = 1000  # steps of flat validations after a collapse after which a run is stopped (none ever recovered)


def read_log(path: Path) -> list[dict]:
    """The log's rows (training rows carry ``mse``, validation rows ``val_psnr``), in order."""
    rows, lines = [], path.read_text().splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:  # a run killed mid-write leaves at most a torn last line
            if i < len(lines):
                raise ValueError(f"{path}: line {i} is not JSON ({e.msg})") from e
    return rows


def mse_spike(rows: list[dict], ratio: float = SPIKE_RATIO) -> dict | None:
    """The first training row whose MSE exceeds ``ratio`` x the median of the ten before it:
    {"step", "mse", "median_before"}; None if there is none."""
    mse = [(r["step"], float(r["mse"])) for r in rows if "mse" in r]
    for i in range(10, len(mse)):
        med = statistics.median(v for _, v in mse[i - 10:i])
        if med > 0 and mse[i][1] > ratio * med:
            return {"step": mse[i][0], "mse": mse[i][1], "median_before": med}
    return None


def collapse(rows: list[dict], gan_start: int) -> dict | None:
    """None for a run that never fell below COLLAPSE_DB; else {"val_step", "val_psnr", "recovered", "last_step",
    "onset"} where ``onset`` is mse_spike's row with its "phase" ("MSE warm-up" or "GAN phase"), or None."""
    vals = [r for r in rows if "val_psnr" in r]
    bad = next((r for r in vals if r["val_psnr"] < COLLAPSE_DB), None)
    if bad is None:
        return None
    onset = mse_spike([r for r in rows if r.get("step", 0) <= bad["step"]])
    if onset is not None:
        onset["phase"] = "MSE warm-up" if onset["step"] <= gan_start else "GAN phase"
    return {"val_step": bad["step"], "val_psnr": bad["val_psnr"],
            "recovered": any(r["val_psnr"] >= COLLAPSE_DB for r in vals if r["step"] > bad["step"]),
            "last_step": max(r.get("step", 0) for r in rows), "onset": onset}


def dead(rows: list[dict], gan_start: int) -> bool:
    """Collapsed, not recovered, and validated flat for at least DEAD_AFTER steps since."""
    c = collapse(rows, gan_start)
    if c is None or c["recovered"]:
        return False
    return max(r["step"] for r in rows if "val_psnr" in r) >= c["val_step"] + DEAD_AFTER


def collapse_note(name: str, label: str, run: Path, gan_start: int) -> str | None:
    """One line for a collapsed run in folder ``run`` (its log.jsonl; finished when final.safetensors exists), or
    None for a healthy or absent one."""
    log = run / "log.jsonl"
    if not log.exists():
        return None
    c = collapse(read_log(log), gan_start)
    if c is None:
        return None
    done = ("finished" if (run / "final.safetensors").exists() else
            f"stopped as dead at step {c['last_step']}" if (run / STOPPED).exists() else
            f"stopped at step {c['last_step']}")
    o = c["onset"]
    start = (f"training MSE jumped {o['mse'] / o['median_before']:.0f}x at step {o['step']} ({o['phase']}, GAN "
             f"terms from step {gan_start}); " if o else "")
    return (f"{name} ({label}): {start}validation {c['val_psnr']:.2f} dB at step {c['val_step']} "
            f"({'recovered later' if c['recovered'] else 'never recovered'}; {done}).")


def mark_dead(run: Path, gan_start: int, label: str = "") -> str:
    """Write RUN/STOPPED (the step reached and the collapse note) for a run stopped as dead; returns the note."""
    marker = {"step": max(r.get("step", 0) for r in read_log(run / "log.jsonl")), "dead_after": DEAD_AFTER}
    (run / STOPPED).write_text(json.dumps(marker) + "\n")  # first, so that the note says "stopped as dead"
    marker["note"] = collapse_note(run.name, label or run.name, run, gan_start) or ""
    (run / STOPPED).write_text(json.dumps(marker) + "\n")
    return marker["note"]
