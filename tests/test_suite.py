"""Suite files: the shipped suites load; bad suites fail naming the file and the key."""

from __future__ import annotations

import pytest

from codecbench.run.suite import SuiteError, find_suite, load_suite


@pytest.mark.parametrize("name", ["quick", "kodak", "camvid"])
def test_shipped_suites_load(name):
    s = load_suite(name)
    assert s.name == name
    assert s.codecs and s.datasets
    assert list(s.targets) == sorted(s.targets)
    assert len({c.label for c in s.codecs}) == len(s.codecs)


def test_camvid_suite_asks_for_espnet_miou():
    s = load_suite("camvid")
    assert s.segmenter is not None and s.segmenter.name == "espnet"
    assert s.datasets[0].name == "camvid" and s.datasets[0].split == "test"


def test_kodak_targets_span_the_issue_range():
    s = load_suite("kodak")
    assert min(s.targets) == 0.0625 and max(s.targets) == 1.0


def _write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


GOOD = """
[suite]
targets = [0.5, 0.25]
[[datasets]]
name = "embedded"
[[codecs]]
name = "jpeg"
"""


def test_minimal_suite_defaults(tmp_path):
    s = load_suite(_write(tmp_path, GOOD))
    assert s.name == "s" and s.targets == (0.25, 0.5) and s.mode == "below" and s.workers == 1
    assert s.codecs[0].label == "jpeg"


@pytest.mark.parametrize("text, key", [
    (GOOD.replace("targets = [0.5, 0.25]", "targets = [0.5, -1]"), "suite.targets"),
    (GOOD.replace("targets = [0.5, 0.25]", "targets = 'many'"), "suite.targets"),
    (GOOD.replace("[suite]", "[suite]\nworkers = 'two'"), "suite.workers"),
    (GOOD.replace("[suite]", "[suite]\nspeed = 3"), "suite.speed"),
    (GOOD.replace("[suite]", "[suite]\nmode = 'above'"), "suite.mode"),
    (GOOD.replace("[suite]", "[suite]\nmetrics = ['vmaf']"), "suite.metrics"),
    (GOOD.replace('name = "jpeg"', 'name = "jpeg"\nquality = 3'), "codecs[0].quality"),
    (GOOD + '[[codecs]]\nname = "jpeg"\n', "codecs[1].label"),
    (GOOD.replace('[[datasets]]\nname = "embedded"', '[[datasets]]\nlimit = 2'), "datasets[0].name"),
    (GOOD.replace("targets = [0.5, 0.25]", ""), "suite.targets"),
    (GOOD.replace("[suite]", "[suite]\nanchor = 'webp'"), "suite.anchor"),
    ("[suite]\n[[codecs]]\nname='jpeg'\n", "datasets"),
])  # fmt: skip
def test_errors_name_the_file_and_the_key(tmp_path, text, key):
    path = _write(tmp_path, text)
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert str(path) in str(err.value) and f"'{key}'" in str(err.value)


def test_invalid_toml_and_unknown_names(tmp_path):
    with pytest.raises(SuiteError, match="not valid TOML"):
        load_suite(_write(tmp_path, "[suite\n"))
    with pytest.raises(SuiteError, match="not found"):
        find_suite("no-such-suite")
    with pytest.raises(SuiteError, match="not found"):
        find_suite(tmp_path / "missing.toml")


def test_knob_sweep_replaces_targets(tmp_path):
    s = load_suite(_write(tmp_path, GOOD.replace("targets = [0.5, 0.25]", "").replace(
        'name = "jpeg"', 'name = "jpeg"\nknobs = [10, 50]')))
    assert s.targets == () and s.codecs[0].knobs == (10.0, 50.0)


def test_suites_found_through_the_environment(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(GOOD)
    monkeypatch.setenv("CODECBENCH_SUITES", str(tmp_path))
    assert find_suite("mine") == (tmp_path / "mine.toml").resolve()


def test_metrics_precision(tmp_path):
    from codecbench.run.runner import plan_suite

    assert load_suite(_write(tmp_path, GOOD)).precision == "float32"
    s = load_suite(_write(tmp_path, GOOD.replace("[suite]", "[suite]\nprecision = 'float64'")))
    assert s.precision == "float64" and s.as_dict()["precision"] == "float64"
    assert {j.precision for j in plan_suite(s, log=lambda _: None).jobs} == {"float64"}
    path = _write(tmp_path, GOOD.replace("[suite]", "[suite]\nprecision = 'float16'"))
    with pytest.raises(SuiteError, match="'suite.precision'"):
        load_suite(path)
