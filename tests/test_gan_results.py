"""The committed GAN results describe the shipped GAN checkpoints: the study's store (results/automotive-camvid/)
has each GAN entry's points for the shipped weights (model id), the main-budget sweep table names the shipped
weights where it says so, and every shipped checkpoint says what trained it. No ../shared needed: these read
committed files only."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from codecbench.run.store import Store
from codecbench.run.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]
CKPTS = ROOT / "codecbench" / "codecs" / "gan" / "checkpoints"
STUDY = ROOT / "results" / "automotive-camvid" / "store.sqlite"
SWEEP_MAIN = ROOT / "results" / "gan" / "sweep_table_main.csv"


def _shipped() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(CKPTS.glob("gan_*.json"))}


def test_every_shipped_checkpoint_says_what_trained_it():
    shipped = _shipped()
    assert shipped
    total = 0
    for name, meta in shipped.items():
        weights = CKPTS / f"{name}.safetensors"
        assert weights.is_file(), name
        total += weights.stat().st_size
        assert weights.stat().st_size < 16 * 2**20, name  # one device file each
        for key in ("model_id", "trained_steps", "wall_s", "hardware", "data"):
            assert meta.get(key) not in (None, ""), f"{name}: no {key}"
        assert meta["data"]["source"] and meta["data"]["train_images"] > 0, name
    assert total < 60 * 2**20


@pytest.mark.skipif(not STUDY.is_file(), reason="results/automotive-camvid/store.sqlite is not committed here")
def test_study_store_holds_points_for_the_shipped_gan_weights():
    suite = load_suite(ROOT / "codecbench" / "suites" / "automotive-camvid.toml")
    shipped = _shipped()
    with Store(STUDY, read_only=True) as db:  # records(): the points the reports show (current weights)
        keys: dict[str, set[str]] = {}
        for r in db.records():
            keys.setdefault(r["label"], set()).add(r["codec_key"])
    checked = 0
    for entry in suite.codecs:
        ckpt = entry.settings.get("checkpoint") if entry.name == "gan" else None
        if ckpt not in shipped:
            continue
        want = f"#model={shipped[ckpt]['model_id']}"
        got = keys.get(entry.label, set())
        assert got, f"{entry.label}: no points in the committed study"
        assert all(k.endswith(want) for k in got), (
            f"{entry.label}: the committed study shows other weights than the shipped {ckpt} "
            f"({sorted(k.rsplit('#', 1)[-1] for k in got)} vs {want[1:]}): rerun bench/automotive_camvid.py")
        checked += 1
    assert checked >= 5


@pytest.mark.skipif(not SWEEP_MAIN.is_file(), reason="no main-budget sweep table committed")
def test_main_budget_sweep_table_matches_the_shipped_weights():
    shipped = _shipped()
    ids = {meta["model_id"]: name for name, meta in shipped.items()}
    with open(SWEEP_MAIN, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        # a run whose name is a shipped file shows those very weights (the F8 L4 twin row falls back to the
        # long run gan_f8_l4 until the twin is trained); the never-shipped no-quant runs have no file
        if r["name"] in shipped:
            assert ids.get(r["model_id"]) in (r["name"], "gan_f8_l4"), (
                f"{r['name']}: the table's weights ({r['model_id']}) are not the shipped file's")
