"""The GAN codec's headline on CamVid test: gan_f8_l4 against JPEG 2000 and a thumbnail baseline at the same bpp.

    python bench/gan_headline.py [--checkpoint gan_f8_l4] [--stride 1] [--out results/gan]

Per test frame: the GAN's real bitstream sets the frame's byte budget (bpp = 8·bytes/(H·W)); JPEG 2000 and four
thumbnail baselines (the registry's ``sr`` codec: downscale ×2 or ×4 with Lanczos, code with JPEG 2000 or WebP,
upscale bicubically) are rate-controlled to the largest stream not above that budget (mode "below"; a frame
where a baseline cannot get that low enters with its lowest-rate stream and is counted as over budget). PSNR (dB,
RGB) and MS-SSIM through codecbench.metrics.fidelity, ESPNet mIoU (%) from the confusion matrices summed over the
frames against the ground truth (void ignored). The best thumbnail (highest mean PSNR) is the reference.
Writes OUT/headline_camvid_test.md and .csv (one row per frame and codec).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

THUMBS = [("thumbnail ×2 JPEG 2000", "jpeg2000", 0.5), ("thumbnail ×4 JPEG 2000", "jpeg2000", 0.25),
          ("thumbnail ×2 WebP", "webp", 0.5), ("thumbnail ×4 WebP", "webp", 0.25)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="gan_f8_l4")
    ap.add_argument("--stride", type=int, default=1, help="every K-th test frame (1 = all 233)")
    ap.add_argument("--out", default="results/gan")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from codecbench.codecs import registry
    from codecbench.codecs.ratecontrol import match_bpp
    from codecbench.datasets import load_dataset, load_image, load_label
    from codecbench.metrics.fidelity import fidelity
    from codecbench.metrics.segmenters import create
    from codecbench.metrics.segmenters.registry import confusion, scores

    ds = load_dataset("camvid", split="test")
    refs = ds.images[:: args.stride]
    gan = registry.create("gan", checkpoint=args.checkpoint, device="cpu")
    codecs = [("JPEG 2000", registry.create("jpeg2000"))]
    codecs += [(label, registry.create("sr", inner=inner, scale=scale, up="bicubic", down="lanczos"))
               for label, inner, scale in THUMBS]
    seg = create("espnet", device="cpu")
    names = ["GAN " + args.checkpoint] + [n for n, _ in codecs]
    rows: list[dict] = []
    cms = {n: np.zeros((seg.num_classes + 1, seg.num_classes + 1), np.int64) for n in names}
    t0 = time.time()
    for k, ref in enumerate(refs):
        img, label = load_image(ref), load_label(ref)
        h, w = img.shape[:2]
        data = gan.encode(img)
        budget = 8 * len(data) / (h * w)
        decoded = {names[0]: (gan.decode(data), budget, True)}
        for name, c in codecs:
            rr = match_bpp(c, img, budget, mode="below")
            decoded[name] = (c.decode(rr.data), rr.bpp, bool(rr.reachable))
        preds = seg.predict(np.stack([d for d, _, _ in decoded.values()]))
        for (name, (rec, bpp, ok)), pred in zip(decoded.items(), preds):
            f = fidelity(img, rec, ["psnr", "ms_ssim"])
            cm = confusion(pred, label, seg.num_classes, seg.ignore_index)
            cms[name] += cm
            rows.append({"image": ref.id, "codec": name, "bpp": bpp, "budget_bpp": budget, "within_budget": ok,
                         "psnr": f["psnr"], "ms_ssim": f["ms_ssim"], "miou_frame": scores(cm).miou})
        if k % 20 == 0:
            print(f"{k + 1}/{len(refs)} frames, {time.time() - t0:.0f} s", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "headline_camvid_test.csv").open("w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    summary = []
    for n in names:
        rs = [r for r in rows if r["codec"] == n]
        summary.append({"codec": n, "frames": len(rs), "within_budget": sum(r["within_budget"] for r in rs),
                        "bpp": float(np.mean([r["bpp"] for r in rs])),
                        "psnr": float(np.mean([r["psnr"] for r in rs])),
                        "ms_ssim": float(np.mean([r["ms_ssim"] for r in rs])),
                        "miou": scores(cms[n]).miou})
    thumbs = [s for s in summary if s["codec"].startswith("thumbnail")]
    best = max(thumbs, key=lambda s: s["psnr"])
    from codecbench.codecs.gan.checkpoint import read_config, resolve

    cfg = read_config(resolve(args.checkpoint))
    lines = [f"# GAN headline on CamVid test ({len(refs)} frames, stride {args.stride})", "",
             f"Checkpoint `{args.checkpoint}` (model id {cfg.get('model_id')}, "
             f"{cfg.get('trained_steps', '?')} steps in its last run). Each baseline is rate-controlled per frame to "
             f"the GAN's own bytes (mode below). ESPNet mIoU over the summed confusion matrices. Best thumbnail "
             f"(by PSNR): **{best['codec']}**.", "",
             "| codec | frames within budget | mean bpp | PSNR (dB) | MS-SSIM | mIoU (%) |",
             "|---|---|---|---|---|---|"]
    for s in summary:
        mark = " (best thumbnail)" if s is best else ""
        lines.append(f"| {s['codec']}{mark} | {s['within_budget']}/{s['frames']} | {s['bpp']:.4f} | {s['psnr']:.2f} | "
                     f"{s['ms_ssim']:.4f} | {s['miou']:.2f} |")
    g, j = summary[0], summary[1]
    lines += ["", f"Goal check: GAN PSNR − best thumbnail = {g['psnr'] - best['psnr']:+.2f} dB; "
                  f"GAN mIoU − JPEG 2000 mIoU = {g['miou'] - j['miou']:+.2f} points.",
              f"Wall time {time.time() - t0:.0f} s on the shared 2-core CPU (1 thread)."]
    (out / "headline_camvid_test.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
