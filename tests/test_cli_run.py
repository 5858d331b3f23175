"""The CLI: run → table → plot → export → check, on a tiny real-photo suite."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from codecbench.cli.main import build_parser, main


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from skimage import data

    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "photos").mkdir()
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:176, :176])).save(tmp / "photos" / "a.png")
    Image.fromarray(np.ascontiguousarray(data.coffee()[:176, 100:276])).save(tmp / "photos" / "b.png")
    suite = tmp / "tiny.toml"
    suite.write_text(f"""
[suite]
name = "tiny"
targets = [0.25, 0.5, 1.0]
metrics = ["psnr", "ms_ssim"]
output = "{tmp / 'out'}"
[[datasets]]
name = "folder"
root = "{tmp / 'photos'}"
[[codecs]]
name = "jpeg"
[[codecs]]
name = "webp"
label = "WebP"
""")
    return tmp, suite


def test_run_prints_where_everything_is(finished_run, capsys):
    tmp, suite = finished_run
    assert main(["run", str(suite), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "12 computed (12 ok" in out and "harness overhead" in out
    assert f"store: {tmp / 'out' / 'store.sqlite'}" in out and "table.md" in out and "rd.png" in out
    for name in ("store.sqlite", "table.md", "table.csv", "table.tex", "bdrate.md", "points.csv", "rd.png",
                 "rd.svg", "rd_logx.png"):
        assert (tmp / "out" / name).is_file(), name


def test_table_formats_and_bd(finished_run, capsys):
    tmp, _ = finished_run
    assert main(["table", str(tmp / "out"), "--anchor", "jpeg"]) == 0
    out = capsys.readouterr().out
    assert "| WebP | 0.5 | 2 |" in out and "BD vs **jpeg**" in out
    assert main(["table", str(tmp / "out"), "--format", "latex", "--no-bd"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    assert main(["table", str(tmp / "out"), "--anchor", "nope"]) == 2
    assert main(["table", str(tmp / "missing.sqlite")]) == 2


def test_export_then_reference_in_table_and_plot(finished_run, capsys):
    tmp, _ = finished_run
    assert main(["export", str(tmp / "out"), "--codec", "WebP", "-o", str(tmp / "webp.json")]) == 0
    doc = json.loads((tmp / "webp.json").read_text())
    assert doc["name"] == "WebP" and len(doc["results"]["bpp"]) == 3 and "ms-ssim-rgb" in doc["results"]
    doc["name"] = "WebP (reference)"
    (tmp / "ref.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["table", str(tmp / "out"), "--reference", str(tmp / "ref.json"), "--anchor", "WebP"]) == 0
    out = capsys.readouterr().out
    assert "WebP (reference) | ref0 | ref |" in out and "| WebP (reference) | +0.0 |" in out
    assert main(["plot", str(tmp / "out"), "-o", str(tmp / "p"), "--format", "pdf", "--log-x",
                 "--reference", str(tmp / "ref.json")]) == 0
    assert (tmp / "p.pdf").stat().st_size > 1000


def test_check_passes_on_its_baseline_and_fails_on_a_worsened_copy(finished_run, capsys):
    tmp, _ = finished_run
    base = tmp / "base.json"
    assert main(["check", str(tmp / "out"), "--baseline", str(base), "--write"]) == 0
    assert main(["check", str(tmp / "out"), "--baseline", str(base)]) == 0
    assert "PASS" in capsys.readouterr().out
    doc = json.loads(base.read_text())
    doc["points"][0]["psnr"] += 1.0
    (tmp / "worse.json").write_text(json.dumps(doc))
    assert main(["check", str(tmp / "out"), "--baseline", str(tmp / "worse.json")]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "FAIL" in out
    assert main(["check", str(tmp / "out"), "--baseline", str(tmp / "worse.json"), "--tol", "psnr=2"]) == 0


def test_run_defaults_to_the_quick_suite():
    args = build_parser().parse_args(["run"])
    assert args.suite == "quick"


def test_bad_suite_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[suite]\ntargets = [1]\nworkers = 0\n[[datasets]]\nname='embedded'\n[[codecs]]\nname='jpeg'\n")
    assert main(["run", str(bad)]) == 2
    assert "suite.workers" in capsys.readouterr().err
