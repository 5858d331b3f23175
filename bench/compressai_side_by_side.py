"""codecbench against CompressAI 1.2.8's ``compressai.utils.bench`` on the same Kodak points (issue 12).

Both tools code the 24 Kodak images with Pillow's JPEG and WebP at the same qualities and the same encoder
settings (Pillow's defaults, which CompressAI uses: JPEG 4:2:0 without optimisation, WebP method 4) and compute
PSNR (RGB) and MS-SSIM (RGB). CompressAI runs in its own venv (``--venv``; it pulls a CUDA torch and
torchvision, ~5.8 GB, and must never be a dependency of this project), one job; codecbench runs
``codecbench run`` on an equivalent suite with ``--workers 1 --no-reports`` into a fresh store. Each round runs
both, alternating which goes first; the figures are the children's CPU seconds (user + sys, robust on a loaded
machine) and wall seconds, and their ratios in the same round. The mean bpp, PSNR and MS-SSIM of both are
printed side by side: equal bpp means identical streams.

Run:  python bench/compressai_side_by_side.py --venv VENV [--json results/speed/compressai_side_by_side.json]
      (VENV: a separate venv with `pip install compressai==1.2.8`)
Needs ../shared (or $CODECBENCH_SHARED) for Kodak. Prints a markdown report.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODECS = {"jpeg": 'settings = { optimize = false, subsampling = "4:2:0" }', "webp": "settings = { method = 4 }"}


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(CPU seconds of the child, wall seconds, stdout) of one command, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=7200, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.stdout


def compressai_round(python: str, kodak: Path, qualities: list[int], env) -> tuple[float, float, dict]:
    cpu = wall = 0.0
    results = {}
    for name in CODECS:
        c, w, out = _timed([python, "-m", "compressai.utils.bench", name, str(kodak), "-j", "1",
                            "-q", ",".join(map(str, qualities)), "--metrics", "psnr-rgb", "ms-ssim-rgb"], env)
        cpu, wall = cpu + c, wall + w
        results[name] = json.loads(out)["results"]
    return cpu, wall, results


def codecbench_round(qualities: list[int], env, work: Path) -> tuple[float, float, dict]:
    from codecbench.run.store import Store

    suite = work / "side_by_side.toml"
    out = work / f"out-{time.monotonic_ns()}"
    lines = ['[suite]', 'name = "compressai-side-by-side"', 'metrics = ["psnr", "ms_ssim"]', "workers = 1",
             f'output = "{out}"', '', '[[datasets]]', 'name = "kodak"']
    for name, settings in CODECS.items():
        lines += ["", "[[codecs]]", f'name = "{name}"', settings, f"knobs = {qualities}"]
    suite.write_text("\n".join(lines) + "\n")
    cpu, wall, _ = _timed([sys.executable, "-m", "codecbench.cli.main", "run", str(suite), "--workers", "1",
                           "--no-reports", "--no-progress"], env)
    with Store(out / "store.sqlite", read_only=True) as store:
        records = list(store.records(status=["ok"]))
    results: dict = {}
    for r in records:
        d = results.setdefault(r["codec"], {}).setdefault(r["knob"], {"bpp": [], "psnr": [], "ms_ssim": []})
        d["bpp"].append(r["bpp"])
        d["psnr"].append(r["metrics"]["psnr"])
        d["ms_ssim"].append(r["metrics"]["ms_ssim"])
    return cpu, wall, results


def main(argv=None) -> int:
    from codecbench.paths import require_shared

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", type=Path, required=True, help="the venv holding compressai==1.2.8")
    ap.add_argument("--qualities", default="25,50,75")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    kodak = require_shared("data", "kodak")
    qualities = [int(q) for q in args.qualities.split(",")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    python = str(args.venv / "bin" / "python")
    load0 = os.getloadavg()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="cb-vs-cai-") as tmp:
        for r in range(args.rounds):
            order = ["compressai", "codecbench"] if r % 2 == 0 else ["codecbench", "compressai"]
            got = {}
            for who in order:
                got[who] = (compressai_round(python, kodak, qualities, env) if who == "compressai"
                            else codecbench_round(qualities, env, Path(tmp)))
            rounds.append(got)
    n_points = 24 * len(qualities) * len(CODECS)
    print(f"# codecbench vs CompressAI 1.2.8 bench: {n_points} Kodak points (JPEG, WebP at q {args.qualities}), "
          f"PSNR + MS-SSIM, one job/worker, one thread; load average {load0[0]:.1f} → {os.getloadavg()[0]:.1f}\n")
    print("| round | CompressAI CPU s | codecbench CPU s | CPU ratio | CompressAI wall s | codecbench wall s | "
          "wall ratio |\n|--:|--:|--:|--:|--:|--:|--:|")
    figures = []
    for i, got in enumerate(rounds):
        (cc, cw, _), (bc, bw, _) = got["compressai"], got["codecbench"]
        figures.append({"round": i, "compressai_cpu_s": cc, "codecbench_cpu_s": bc, "compressai_wall_s": cw,
                        "codecbench_wall_s": bw})
        print(f"| {i} | {cc:.1f} | {bc:.1f} | {cc / bc:.2f}× | {cw:.1f} | {bw:.1f} | {cw / bw:.2f}× |")
    print("\nratio = CompressAI / codecbench (above 1: codecbench is faster)\n")
    print("| codec | q | bpp (CompressAI / codecbench) | PSNR dB | MS-SSIM |\n|---|--:|---|---|---|")
    _, _, cai = rounds[-1]["compressai"]
    _, _, cb = rounds[-1]["codecbench"]
    worst = 0.0
    for name in CODECS:
        for j, q in enumerate(qualities):
            ours = cb[name][q]
            mean = {k: sum(v) / len(v) for k, v in ours.items()}
            theirs = {"bpp": cai[name]["bpp"][j], "psnr": cai[name]["psnr-rgb"][j],
                      "ms_ssim": cai[name]["ms-ssim-rgb"][j]}
            worst = max(worst, abs(theirs["psnr"] - mean["psnr"]))
            print(f"| {name} | {q} | {theirs['bpp']:.5f} / {mean['bpp']:.5f} | {theirs['psnr']:.4f} / "
                  f"{mean['psnr']:.4f} | {theirs['ms_ssim']:.5f} / {mean['ms_ssim']:.5f} |")
    print(f"\nlargest PSNR difference: {worst:.2e} dB")
    if args.json:
        args.json.write_text(json.dumps({"points": n_points, "qualities": qualities, "load_start": load0,
                                         "load_end": os.getloadavg(), "rounds": figures}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
