"""`codecbench gan train / export / info` end to end on a tiny model and two embedded photos."""

from __future__ import annotations

import json

from codecbench.cli.main import main
from codecbench.codecs.gan.checkpoint import load_model


def test_gan_train_export_info(tmp_path, capsys):
    run, out = tmp_path / "run", tmp_path / "tiny"
    args = ["gan", "train", "--source", "embedded", "--run", str(run), "--width", "0.05", "--crop", "32",
            "--batch", "1", "--steps", "2", "--gan-start", "1", "--limit", "3", "--val-count", "1",
            "--val-every", "2", "--ckpt-every", "1", "--export", str(out)]
    assert main(args) == 0
    cfg = json.loads(out.with_suffix(".json").read_text())
    assert cfg["trained_steps"] == 2 and cfg["training"]["command"].startswith("codecbench gan train --run ")
    assert "--width 0.05" in cfg["training"]["command"] and "--command" not in cfg["training"]["command"]
    assert cfg["validation"]["val_bpp"] > 0
    assert load_model(out.with_suffix(".safetensors")).model_id == cfg["model_id"]
    assert main(["gan", "export", str(run), str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again.json").read_text())["model_id"] == cfg["model_id"]
    capsys.readouterr()
    assert main(["gan", "info", str(out.with_suffix(".safetensors"))]) == 0
    assert json.loads(capsys.readouterr().out)["F"] == 8


def test_gan_train_stopped_by_max_minutes_exports_nothing(tmp_path, capsys):
    """A run cut short by --max-minutes must not leave an --export that looks like a finished run."""
    run, out = tmp_path / "run", tmp_path / "tiny"
    args = ["gan", "train", "--source", "embedded", "--run", str(run), "--width", "0.05", "--crop", "32",
            "--batch", "1", "--steps", "2", "--gan-start", "1", "--limit", "3", "--val-count", "1",
            "--val-every", "2", "--ckpt-every", "1", "--export", str(out)]
    assert main(args + ["--max-minutes", "1e-9"]) == 0
    assert not out.with_suffix(".safetensors").exists()
    assert "not exported: stopped at step 0 of 2" in capsys.readouterr().out
    assert main(args) == 0  # the same command resumes, finishes and exports
    assert json.loads(out.with_suffix(".json").read_text())["trained_steps"] == 2
