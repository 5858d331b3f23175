"""Fault injection on suites (D8): everything a suite names is checked before the first encode; errors name
the file and the key, once; stored knob values are the ones used."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from codecbench.run.runner import RunError, plan_suite, run_suite
from codecbench.run.store import Store
from codecbench.run.suite import SuiteError, parse_suite


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CODECBENCH_CACHE", str(tmp_path_factory.mktemp("hashcache")))


@pytest.fixture
def photos(tmp_path):
    from skimage import data

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.ascontiguousarray(data.chelsea()[:64, :80])).save(folder / "cat.png")
    return folder


def _suite(tmp_path: Path, photos: Path, codec: str = '[[codecs]]\nname = "jpeg"\n', head: str = "targets = [1.0]",
           tail: str = ""):
    path = tmp_path / "v.toml"
    path.write_text(f"""
[suite]
name = "v"
{head}
metrics = ["psnr"]
output = "{tmp_path / 'out'}"

[[datasets]]
name = "folder"
root = "{photos}"

{codec}
{tail}
""")
    return parse_suite(tomllib.loads(path.read_text()), path), path


@pytest.fixture
def no_encode(monkeypatch):
    """Fail the test if anything is encoded (the checks must come first)."""
    from codecbench.codecs.spec import Codec

    monkeypatch.setattr(Codec, "encode", lambda *a, **k: pytest.fail("encoded before validating the suite"))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_targets_refused(tmp_path, photos, value):
    with pytest.raises(SuiteError, match=r"v.toml: key 'suite.targets': expected finite numbers"):
        _suite(tmp_path, photos, head=f"targets = [0.5, {value}]")


def test_int_setting_where_a_string_is_expected(tmp_path, photos, no_encode):
    suite, path = _suite(tmp_path, photos, codec='[[codecs]]\nname = "jpeg"\nsettings = { subsampling = 420 }\n')
    with pytest.raises(RunError) as exc:
        plan_suite(suite, log=lambda s: None)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: key 'codecs[0].settings': codec 'jpeg': setting 'subsampling' must be a string")
    assert msg.count("codec 'jpeg'") == 1  # one prefix, not "codec 'jpeg': codec 'jpeg': ..."


def test_setting_outside_its_choices(tmp_path, photos, no_encode):
    suite, _ = _suite(tmp_path, photos, codec='[[codecs]]\nname = "jpeg"\nsettings = { subsampling = "4:1:0" }\n')
    with pytest.raises(RunError, match=r"key 'codecs\[0\].settings'.*must be one of '4:4:4', '4:2:2', '4:2:0'"):
        plan_suite(suite, log=lambda s: None)


def test_unknown_codec_name_is_an_error_naming_the_key(tmp_path, photos, no_encode):
    suite, path = _suite(tmp_path, photos, codec='[[codecs]]\nname = "jpge"\n')
    with pytest.raises(RunError, match=rf"{path}: key 'codecs\[0\].name'.*jpge"):
        plan_suite(suite, log=lambda s: None)


def test_knob_outside_range_refused(tmp_path, photos, no_encode):
    suite, path = _suite(tmp_path, photos, head="", codec='[[codecs]]\nname = "jpeg"\nknobs = [50, 150]\n')
    with pytest.raises(RunError, match=rf"{path}: key 'codecs\[0\].knobs': 150 is outside the range .*1–100"):
        plan_suite(suite, log=lambda s: None)


def test_stored_knob_is_the_value_used(tmp_path, photos):
    suite, _ = _suite(tmp_path, photos, head="", codec='[[codecs]]\nname = "webp"\nknobs = [40.5]\n')
    summary = run_suite(suite, progress=False, log=lambda s: None)
    assert summary.ok == 1
    with Store(summary.store, read_only=True) as db:
        (rec,) = db.records()
    assert rec["knob"] == 40.5 and rec["trials"][0][0] == 40.5
    # a value the codec clips (the Knob API clips): the record holds what the encoder got
    from codecbench.run.jobs import execute_job

    job = plan_suite(suite, log=lambda s: None).jobs[0]
    import dataclasses

    clipped = execute_job(dataclasses.replace(job, knob=250.0))
    assert clipped["status"] == "ok" and clipped["knob"] == 100.0


def test_unknown_segmenter_and_missing_weights_found_before_encoding(tmp_path, photos, no_encode):
    root = tmp_path / "camvid"
    (root / "test").mkdir(parents=True)
    (root / "testannot").mkdir()
    Image.open(photos / "cat.png").save(root / "test" / "f.png")
    Image.fromarray(np.full((64, 80), 3, np.uint8)).save(root / "testannot" / "f.png")
    (root / "test.txt").write_text("test/f.png testannot/f.png\n")
    ds = f'[[datasets]]\nname = "camvid"\nroot = "{root}"\n'
    for seg, pattern in [('[segmenter]\nname = "espnett"\n', r"key 'segmenter.name'.*espnett"),
                         (f'[segmenter]\nname = "espnet"\noptions = {{ weights = "{tmp_path / "no.pth"}", '
                          f'device = "cpu" }}\n', r"key 'segmenter'.*no.pth")]:
        path = tmp_path / "seg.toml"
        path.write_text(f'[suite]\ntargets = [1.0]\nmetrics = ["psnr"]\n{ds}\n[[codecs]]\nname = "jpeg"\n{seg}')
        suite = parse_suite(tomllib.loads(path.read_text()), path)
        with pytest.raises(RunError, match=pattern):
            plan_suite(suite, log=lambda s: None)


def test_bad_suite_keys_for_new_options(tmp_path, photos):
    with pytest.raises(SuiteError, match="suite.on_bad_image"):
        _suite(tmp_path, photos, head='targets = [1.0]\non_bad_image = "ignore"')
    with pytest.raises(SuiteError, match="suite.max_pixels"):
        _suite(tmp_path, photos, head="targets = [1.0]\nmax_pixels = 0")
    with pytest.raises(SuiteError, match="suite.timeout"):
        _suite(tmp_path, photos, head="targets = [1.0]\ntimeout = inf")
