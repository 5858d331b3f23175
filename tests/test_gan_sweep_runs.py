"""bench/gan_sweep's data and run-log reading: the ablation pairs are real pairs, the training command carries each
run's recipe knobs, and a collapse is found with its onset and phase (synthetic logs in the trainer's format)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cfgs = _load("gan_sweep_configs")
logs = _load("gan_run_logs")


def test_every_ablation_pair_differs_only_in_quantization_and_at_most_the_seed():
    for q, nq in cfgs.ABLATION_PAIRS:
        a, b = cfgs.CONFIGS[q], cfgs.CONFIGS[nq]
        assert (a.quant, b.quant) == ("ste", "none"), (q, nq)
        assert (a.F, a.L, a.ramp) == (b.F, b.L, b.ramp), (q, nq)
    assert cfgs.UNSHIPPED <= set(cfgs.CONFIGS)
    assert set(cfgs.MAIN_ORDER) == set(cfgs.CONFIGS)


def test_the_training_command_carries_ramp_and_seed():
    sweep = _load("gan_sweep")
    cmd = sweep._cmd("gan_f8_l4_noquant_ramp_s1", 15000, 6000, 500)
    assert cmd[cmd.index("--gan-ramp") + 1] == "1000"
    assert cmd[cmd.index("--seed") + 1] == "1"
    assert cmd[cmd.index("--quant-mode") + 1] == "none"
    plain = sweep._cmd("gan_f2_l8", 15000, 6000)
    assert "--gan-ramp" not in plain and plain[plain.index("--seed") + 1] == "0"


def _write_log(run: Path, mse: dict[int, float], val: dict[int, float]) -> None:
    run.mkdir(parents=True, exist_ok=True)
    rows = [{"step": s, "mse": m} for s, m in mse.items()] + [{"step": s, "val_psnr": v} for s, v in val.items()]
    rows.sort(key=lambda r: (r["step"], "val_psnr" in r))
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _mse(spikes: dict[int, float], last: int = 9000) -> dict[int, float]:
    base = {s: 0.03 + 0.01 * ((s // 50) % 3) for s in range(50, last + 1, 50)}
    return {**base, **spikes}


def test_a_healthy_run_with_a_recovered_spike_is_not_a_collapse(tmp_path):
    _write_log(tmp_path / "ok", _mse({6100: 1.1}), {5000: 18.0, 6000: 18.5, 7000: 15.0, 8000: 18.9})
    assert logs.collapse(logs.read_log(tmp_path / "ok" / "log.jsonl"), 6000) is None
    assert logs.collapse_note("ok", "healthy", tmp_path / "ok", 6000) is None


def test_a_divergence_in_the_mse_warm_up_is_dated_and_phased(tmp_path):
    run = tmp_path / "nq"
    _write_log(run, _mse({5750: 2.0, 5800: 1.5, 6050: 0.96, 6100: 1.6}, last=7350),
               {5000: 15.9, 6000: 12.0, 7000: 5.26})
    c = logs.collapse(logs.read_log(run / "log.jsonl"), 6000)
    assert c["val_step"] == 7000 and c["onset"]["step"] == 5750 and c["onset"]["phase"] == "MSE warm-up"
    assert not c["recovered"] and c["last_step"] == 7350
    note = logs.collapse_note("nq", "F8 L4, no quantization", run, 6000)
    assert "step 5750 (MSE warm-up" in note and "stopped at step 7350" in note


def test_a_collapse_at_the_gan_onset_is_phased_gan_and_a_finished_run_says_so(tmp_path):
    run = tmp_path / "eq"
    _write_log(run, _mse({6050: 0.96, 6100: 1.6, 6150: 1.13, 6200: 2.0}), {6000: 19.6, 7000: 5.26, 9000: 5.26})
    (run / "final.safetensors").write_bytes(b"")
    note = logs.collapse_note("eq", "F8 L4", run, 6000)
    assert "step 6050 (GAN phase" in note and "never recovered; finished" in note


def test_a_torn_last_line_is_tolerated_but_a_torn_middle_line_names_the_file(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 50, "mse": 0.1}\n{"step": 100, "ms')
    assert logs.read_log(log) == [{"step": 50, "mse": 0.1}]
    log.write_text('{"step": 50, "ms\n{"step": 100, "mse": 0.1}\n')
    with pytest.raises(ValueError, match=r"log\.jsonl: line 1"):
        logs.read_log(log)


def test_a_run_is_dead_only_after_flat_validations_for_dead_after_steps(tmp_path):
    run = tmp_path / "gan_x"
    mse = _mse({5750: 2.0}, last=7950)
    _write_log(run, mse, {5000: 15.9, 6000: 12.0, 7000: 5.26})
    assert not logs.dead(logs.read_log(run / "log.jsonl"), 6000)  # one flat validation: not yet
    _write_log(run, _mse({5750: 2.0}, last=8000), {5000: 15.9, 6000: 12.0, 7000: 5.26, 8000: 5.26})
    assert logs.dead(logs.read_log(run / "log.jsonl"), 6000)
    note = logs.mark_dead(run, 6000)
    marker = json.loads((run / logs.STOPPED).read_text())
    assert marker["step"] == 8000 and marker["note"] == note
    assert "stopped as dead at step 8000" in logs.collapse_note("gan_x", "x", run, 6000)
    _write_log(run, _mse({5750: 2.0}, last=8000), {5000: 15.9, 7000: 5.26, 8000: 16.0})
    assert not logs.dead(logs.read_log(run / "log.jsonl"), 6000)  # recovered


def test_ablation_rows_are_reused_only_for_the_same_weights_and_frames(tmp_path):
    tables = _load("gan_sweep_tables")
    path = tmp_path / "ablation_table_main.csv"
    assert tables.scored_by_model_id(path, 233) == {}
    tables.write_csv(path, [{"model_id": "aa", "n_frames": 233, "psnr": 20.1},
                            {"model_id": "bb", "n_frames": 24, "psnr": 19.0}])
    got = tables.scored_by_model_id(path, 233)
    assert list(got) == ["aa"] and got["aa"]["psnr"] == "20.1"
