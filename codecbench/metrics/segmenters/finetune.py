"""Fine-tune ESPNet on decoded images (``codecbench segment finetune``): the perception half of the study.

Starts from the published CamVid weights (or any ESPNet weights file) and trains on CamVid train frames that
went through a codec (:mod:`.decoded`: the normal codec + rate-control path, cached on disk). Modes:

- ``recon``: the codec's reconstructions only;
- ``mixed``: originals ∪ reconstructions, for the same number of optimisation steps as ``recon``;
- ``orig``: the original frames only (a control: the same recipe without a codec).

Every ``val_every``-th train frame is held out for validation (see :mod:`.finetune_data`) and scored, before the
first step and after every epoch (or every ``val_steps`` steps), on each kind of image the mode trains on (dataset
mIoU in %, void answers counted as misses as everywhere in codecbench; and the weighted cross-entropy). Loss:
cross-entropy over the 12 outputs with the void label (11) ignored and ESPNet's class weights. Optimiser Adam (lr,
weight decay). One epoch = ceil(train frames / batch) steps, whatever the mode. BatchNorm layers train by default (batch
statistics; their running statistics adapt to the decoded images), ``bn="frozen"`` keeps them. Defaults (Adam,
lr 3e-5, no weight decay, BN training) come from a 6-step probe on GAN reconstructions (10 frames): SGD lr 1e-3
diverged (frozen BN) or collapsed the running statistics, Adam 1e-4 with frozen BN lost validation mIoU, Adam
1e-5/5e-5 with frozen BN gained +1.7/+2.1 points and Adam 3e-5 with training BN +3.8 points.
Seeds are fixed and a step's batch depends only on (seed, step).

Run folder: ``state.safetensors`` (weights + optimiser moments) and ``state.json`` (step, validation curve,
timings) at every validation, so a killed run resumes from its last validation with the same result; at the end
``weights.safetensors`` (the network's state dict) and ``provenance.json``. The weights load through the
segmenter registry: ``[segmenter] options = { weights = ".../weights.safetensors" }``.
Times are seconds; ``cpu_s`` is this process's CPU time (all threads) spent in training and validation.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np

from .finetune_config import FinetuneConfig, FinetuneError, _check
from .finetune_data import Sample, class_weights, data_hash, make_batch, split
from .finetune_folder import _finish, _load_state, _lock, _save_state

STATE_VERSION = 1


def current_codec_key(cfg: FinetuneConfig) -> str | None:
    """The codec id (:func:`.decoded.codec_identity`) the config would train on now; None without a codec."""
    if cfg.mode == "orig":
        return None
    from codecbench.codecs import registry

    from .decoded import codec_identity

    return codec_identity(registry.create(cast(str, cfg.codec), **cfg.settings))[0]


def _samples(cfg: FinetuneConfig, cache_dir, progress: bool, log: Callable[[str], None]):
    """(train samples, {domain: val samples}, facts about the data) for a config."""
    from codecbench.datasets import load_dataset, load_image, load_label
    from codecbench.imageio import content_hash

    dataset = load_dataset("camvid", split=cfg.split, limit=cfg.limit)
    train_refs, val_refs = split(dataset.images, cfg.val_every)

    def originals(refs):
        return [Sample(img, load_label(r).astype(np.uint8), r.id, "orig", r.hash)
                for r in refs for img in [load_image(r)]]

    facts: dict[str, Any] = {"dataset": "camvid", "split": cfg.split, "frames": len(dataset.images),
                             "train_frames": len(train_refs), "val_frames": len(val_refs),
                             "val_ids": [r.id for r in val_refs]}
    domains: dict[str, tuple[list[Sample], list[Sample]]] = {}
    if cfg.mode in ("orig", "mixed"):
        domains["orig"] = (originals(train_refs), originals(val_refs))
    if cfg.mode in ("recon", "mixed"):
        from codecbench.codecs import registry

        from .decoded import DecodedCache

        cache = DecodedCache(registry.create(cast(str, cfg.codec), **cfg.settings), cfg.target_bpp, cache_dir)
        t0 = time.perf_counter()
        made = []

        def recon(refs):
            out = []
            for r, d in zip(refs, cache.fill(refs, progress=progress)):
                made.append(d)
                out.append(Sample(d.image, load_label(r).astype(np.uint8), r.id, cache.codec_id,
                                  content_hash(d.image)))
            return out

        domains["recon"] = (recon(train_refs), recon(val_refs))
        fresh = sum(not d.cached for d in made)
        facts.update(codec=cache.description, codec_id=cache.codec_id, cache=str(cache.folder),
                     target=None if cfg.target_bpp is None else float(cfg.target_bpp),
                     train_bpp=float(np.mean([d.bpp for d in made[:len(train_refs)]])),
                     reachable=int(sum(d.reachable for d in made)), decoded_now=fresh,
                     decode_s=time.perf_counter() - t0)
        log(f"reconstructions: {len(made)} ({fresh} encoded now, the rest from {cache.folder})")
    train = [s for key in ("orig", "recon") if key in domains for s in domains[key][0]]
    return train, {k: v[1] for k, v in domains.items()}, facts


def validate(net, samples: list[Sample], weight, batch: int = 4) -> dict[str, float]:
    """Dataset mIoU (%) and mean weighted cross-entropy of the network (eval mode) on full frames."""
    import torch
    import torch.nn.functional as F

    from .espnet import VOID_INDEX, preprocess
    from .registry import confusion, scores

    modes = {m: m.training for m in net.modules()}
    net.eval()
    total, loss_sum, n_pix = None, 0.0, 0
    try:
        with torch.inference_mode():
            for i in range(0, len(samples), batch):
                chunk = samples[i:i + batch]
                out = net(preprocess(np.stack([s.image for s in chunk])))
                lab = torch.from_numpy(np.stack([s.label for s in chunk]).astype(np.int64))
                valid = int((lab != VOID_INDEX).sum())
                loss_sum += float(F.cross_entropy(out, lab, weight=weight, ignore_index=VOID_INDEX,
                                                  reduction="sum")) if valid else 0.0
                n_pix += valid
                pred = out.argmax(1).numpy()
                for p, s in zip(pred, chunk):
                    cm = confusion(p, s.label, 11, VOID_INDEX)
                    total = cm if total is None else total + cm
    finally:
        for m, training in modes.items():
            m.training = training
    return {"miou": float(scores(cast(np.ndarray, total)).miou), "loss": loss_sum / max(1, n_pix)}


def _train_mode(net, bn: str) -> None:
    """Training mode; with bn="frozen" every BatchNorm stays in eval mode (running statistics used and kept,
    its affine weights still learn): small CPU batches of crops give poor batch statistics."""
    from torch import nn

    net.train()
    if bn == "frozen":
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()


def finetune(cfg: FinetuneConfig, out: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None,
             progress: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or resume, or return the finished) fine-tune described by cfg in folder out; returns provenance."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from .espnet import VOID_INDEX, default_weights, load_network, preprocess
    from .espnet_model import NUM_OUTPUTS

    _check(cfg)
    log = log or (lambda s: None)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    config = asdict(cfg)
    if (folder / "provenance.json").is_file():
        prov = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
        if prov.get("config") == config:
            current = current_codec_key(cfg)
            if current != prov.get("codec_key"):
                raise FinetuneError(f"{folder} was fine-tuned on codec {prov.get('codec_key')}, the codec is now "
                                    f"{current} (new version or checkpoint): delete the folder to fine-tune again")
            log(f"{folder}: already finished")
            return prov
        raise FinetuneError(f"{folder}/provenance.json holds a finished run with another configuration; "
                            "use another folder")
    base = Path(cfg.base_weights) if cfg.base_weights else default_weights()
    lock = _lock(folder)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        torch.manual_seed(cfg.seed)
        train, val, facts = _samples(cfg, cache_dir, progress, log)
        weight = torch.from_numpy(class_weights([s.label for s in train], 11, VOID_INDEX, outputs=NUM_OUTPUTS))
        dhash = data_hash(train, {"val": facts["val_ids"], "mode": cfg.mode})
        spe = math.ceil(facts["train_frames"] / cfg.batch)
        total = cfg.epochs * spe
        # faster thin convs on the CPU; Module.to's stub lacks memory_format
        net = load_network(base).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        _train_mode(net, cfg.bn)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        meta: dict[str, Any] = {"version": STATE_VERSION, "config": config, "data_hash": dhash, "step": 0,
                                "curve": [], "epoch_s": [], "train_s": 0.0, "cpu_s": 0.0, "wall_s": 0.0, "losses": []}
        if (folder / "state.json").is_file():
            old = json.loads((folder / "state.json").read_text(encoding="utf-8"))
            if old.get("config") != config or old.get("data_hash") != dhash:
                raise FinetuneError(f"{folder}/state.json was written by another configuration or other data; "
                                    "use another folder (or delete it to start again)")
            _load_state(folder, net, opt)
            meta = old
            log(f"resuming {folder} at step {meta['step']} of {total}")
        if not meta["curve"]:
            c0, t0 = time.process_time(), time.perf_counter()
            meta["curve"].append({"step": 0, "epoch": 0, "train_loss": None,
                                  "val": {k: validate(net, v, weight) for k, v in val.items()}})
            meta["cpu_s"] += time.process_time() - c0
            meta["wall_s"] += time.perf_counter() - t0
        with tqdm(total=total, initial=meta["step"], unit="step", desc=f"finetune {cfg.mode}",
                  disable=True if not progress else None) as bar:
            chunk = cfg.val_steps or spe
            while meta["step"] < total:
                c0, t0 = time.process_time(), time.perf_counter()
                epoch_losses = []
                for _ in range(min(chunk, total - meta["step"])):
                    images, labels = make_batch(train, cfg.seed, meta["step"], cfg.batch, cfg.crop)
                    x = preprocess(images).contiguous(memory_format=torch.channels_last)
                    loss = F.cross_entropy(net(x), torch.from_numpy(labels), weight=weight, ignore_index=VOID_INDEX)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    epoch_losses.append(float(loss.detach()))
                    meta["step"] += 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{epoch_losses[-1]:.3f}")
                chunk_s = time.perf_counter() - t0
                meta["train_s"] = meta.get("train_s", 0.0) + chunk_s
                meta["epoch_s"].append(chunk_s)  # training seconds of this chunk of steps (no validation)
                epoch = round(meta["step"] / spe, 3)
                meta["curve"].append({"step": meta["step"], "epoch": epoch,
                                      "train_loss": float(np.mean(epoch_losses)),
                                      "val": {k: validate(net, v, weight) for k, v in val.items()}})
                meta["losses"].extend(epoch_losses)
                meta["cpu_s"] += time.process_time() - c0
                meta["wall_s"] += time.perf_counter() - t0
                _save_state(folder, net, opt, meta)
                log(f"epoch {epoch}: train loss {meta['curve'][-1]['train_loss']:.4f}, val "
                    + ", ".join(f"{k} mIoU {v['miou']:.2f} %" for k, v in meta["curve"][-1]["val"].items()))
        return _finish(folder, net, cfg, base, facts, meta, spe)
    finally:
        torch.set_num_threads(old_threads)
        lock.close()
