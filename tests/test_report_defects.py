"""Regression tests for the defects a new user hit (issue 17), one per defect."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from codecbench.cli.main import main
from codecbench.report import bdrate, bdstats, plots, reports
from codecbench.run.point_keys import target_key
from codecbench.run.store import Store

ROOT = Path(__file__).resolve().parents[1]


def _rec(img, codec, target, bpp, psnr, status="ok", label=None):
    return {"image_hash": f"h{img}", "codec_key": f"{codec}@1{{\"q\":1}}", "target": target_key(target),
            "status": status, "dataset": "d", "image_id": f"i{img}", "codec": codec, "label": label or codec,
            "target_bpp": target, "bpp": bpp, "metrics": {"psnr": psnr, "ssim": 0.5 + psnr / 100}}


def _store(path, recs):
    with Store(path) as s:
        for r in recs:
            s.put(r)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two small real photos in a folder, and a suite writer."""
    from skimage import data

    tmp = tmp_path_factory.mktemp("defects")
    (tmp / "photos").mkdir()
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:96, :128])).save(tmp / "photos" / "a.png")
    Image.fromarray(np.ascontiguousarray(data.coffee()[:96, 100:228])).save(tmp / "photos" / "b.png")

    def suite(name, codecs, targets="[0.5, 1.0]"):
        body = "".join(f'[[codecs]]\nname = "{c}"\n' for c in codecs)
        p = tmp / f"{name}.toml"
        p.write_text(f'[suite]\nname = "{name}"\ntargets = {targets}\nmetrics = ["psnr"]\noutput = "{tmp / name}"\n'
                     f'[[datasets]]\nname = "folder"\nroot = "{tmp / "photos"}"\n{body}')
        return p

    return tmp, suite


# --- plot crash: fig.legend(ncol=0) when no codec has a target every image reached -------------------------


def test_plot_without_any_complete_target_does_not_crash(tmp_path):
    store = _store(tmp_path, [_rec(0, "webp", 0.125, 0.12, 25.0), _rec(1, "webp", 0.125, 0.2, 20.0, "unreachable"),
                              _rec(0, "jpeg", 0.125, 0.2, 22.0, "unreachable")])
    agg = reports.aggregate(reports.load_points(store))
    files = plots.plot_curves(agg, tmp_path / "rd", formats=("svg",))
    assert files and files[0].is_file()
    assert "webp 0.125 1/2" in plots.coverage_note(agg) and "jpeg 0.125 0/1" in plots.coverage_note(agg)


# --- a legend of many long labels ran off the figure's left edge and under the coverage note ---------------


def test_legend_of_many_long_labels_fits_the_figure_above_the_note(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    labels = [f"GAN F{k} L4 task-aware (trained against ESPNet) {k}" if k % 3 == 0 else f"codec {k}"
              for k in range(17)]
    recs = [_rec(i, lab, t, t * 0.9, 20 + 10 * t + k, label=lab) for k, lab in enumerate(labels)
            for i in range(2) for t in (0.25, 0.5)]
    recs.append(_rec(1, "codec 1", 1.0, 1.2, 30.0, "unreachable", label="codec 1"))  # a coverage note
    agg = reports.aggregate(reports.load_points(_store(tmp_path / "s.sqlite", recs)))
    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    plots.plot_curves(agg, tmp_path / "rd", formats=("png",))
    (fig,) = figs
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    box, legend = fig.bbox, fig.legends[0].get_window_extent(r)
    assert len(fig.legends[0].get_texts()) == 17
    assert box.x0 <= legend.x0 and legend.x1 <= box.x1 and box.y0 <= legend.y0
    note = [t for t in fig.texts if "reached" in t.get_text()][0].get_window_extent(r)
    assert note.y1 <= legend.y0 + 1  # the note sits under the legend
    for ax in fig.axes:  # and the panels above it (their tick labels included)
        assert ax.get_tightbbox(r).y0 >= legend.y1 - 1
    plt.close(fig)


# --- a --reference named like a codec label was merged into that codec's curve ----------------------------


def test_reference_named_like_a_codec_is_kept_apart(tmp_path, capsys):
    store = _store(tmp_path, [_rec(i, "jpeg", t, t * 0.9, 25 + 10 * t + i) for i in range(2) for t in (0.25, 0.5, 1.0)])
    ref = tmp_path / "jpeg.json"
    ref.write_text(json.dumps({"name": "jpeg", "results": {"bpp": [0.3, 0.6, 1.1], "psnr-rgb": [27, 30, 33]}}))
    assert main(["table", str(store), "--reference", str(ref)]) == 0
    out, err = capsys.readouterr()
    assert "| jpeg (reference) | ref0 |" in out and "shown as 'jpeg (reference)'" in err
    assert "jpeg (reference)" in out.split("BD vs", 1)[1]  # a BD row of its own, not merged into jpeg
    from codecbench.report.compressai import read_reference

    with pytest.raises(ValueError, match="has the name of a codec"):
        reports.with_references(reports.aggregate(reports.load_points(store)), [read_reference(ref)])


# --- a typo'd codec name was skipped with exit 0 -----------------------------------------------------------


def test_unknown_codec_name_is_an_error(tiny, capsys):
    _, suite = tiny
    assert main(["run", str(suite("typo", ["jepg", "jpeg"])), "--no-progress", "--no-reports"]) == 2
    err = capsys.readouterr().err
    assert "codec 'jepg'" in err and "unknown codec" in err


# --- run printed bdrate.md and rd.png it had not written -------------------------------------------------------


def test_run_prints_only_files_it_wrote(tiny, capsys):
    tmp, suite = tiny
    path = suite("unreach", ["jpeg"], targets="[0.01]")  # one codec, every point unreachable
    assert main(["run", str(path), "--no-progress", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("outputs in "))
    folder = Path(line.split("outputs in ", 1)[1].split(":", 1)[0])
    names = line.split(": ", 1)[1].split(", ")
    assert names and all((folder / n).is_file() for n in names)
    assert "bdrate.md" not in out and "rd.png" not in out and not (folder / "bdrate.md").exists()


# --- a plugin without `summary` showed up as "unknown codec" ---------------------------------------------------


def _spec_without_summary():
    from codecbench.codecs.spec import CodecSpec

    return CodecSpec(name="nosummary", library="x", version=lambda: "1", knob=None,
                     encode=lambda *a: b"", decode=lambda *a: None)


def test_plugin_that_fails_to_load_says_so(monkeypatch):
    from importlib.metadata import EntryPoint

    from codecbench import plugins
    from codecbench.codecs import registry
    from codecbench.codecs.spec import CodecUnavailable

    ep = EntryPoint("nosummary", f"{__name__}:_spec_without_summary", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else [])
    try:
        registry.specs(refresh=True)
        row = next(r for r in registry.describe_all() if r["name"] == "nosummary")
        assert not row["available"] and "plugin failed to load" in row["reason"] and "summary" in row["reason"]
        with pytest.raises(CodecUnavailable, match="plugin failed to load"):
            registry.create("nosummary")
    finally:
        monkeypatch.undo()
        registry.specs(refresh=True)


# --- a decoder returning None failed with an AttributeError --------------------------------------------------


def test_decoder_returning_none_names_codec_and_contract(photo):
    from codecbench.codecs.spec import CodecError, CodecSpec, Knob

    spec = CodecSpec(name="broken", summary="s", library="x", version=lambda: "1", knob=Knob("q", 1, 9),
                     encode=lambda im, q, s: b"abc", decode=lambda data, s: None)
    codec = spec.bind()
    with pytest.raises(CodecError, match=r"codec 'broken': decode returned NoneType; the CodecSpec contract"):
        codec.decode(codec.encode(photo[:16, :16], 5))
    bad_enc = CodecSpec(name="badenc", summary="s", library="x", version=lambda: "1", knob=Knob("q", 1, 9),
                        encode=lambda im, q, s: None, decode=lambda data, s: None).bind()
    with pytest.raises(CodecError, match="encode returned NoneType"):
        bad_enc.encode(photo[:16, :16], 5)


# --- BrokenPipeError traceback on `codecbench table ... | head` ---------------------------------------------


def test_table_into_a_closed_pipe_prints_no_traceback(tmp_path):
    store = _store(tmp_path, [_rec(i, c, t, t, 30 + i) for i in range(3) for c in ("jpeg", "webp")
                              for t in (0.25, 0.5)])
    r, w = os.pipe()
    os.close(r)  # the reader (`head`) has gone before the first write
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "codecbench.cli.main", "table", str(store)], stdout=w,
                          stderr=subprocess.PIPE, env=env, timeout=120)
    os.close(w)
    assert b"Traceback" not in proc.stderr and b"BrokenPipeError" not in proc.stderr
    assert proc.returncode == 141


# --- the BD table was Markdown even with --format latex --------------------------------------------------------


def test_bd_table_follows_format_latex(tmp_path, capsys):
    store = _store(tmp_path, [_rec(i, c, t, t * (0.9 if c == "webp" else 1), 25 + 8 * t + i + (c == "webp"))
                              for i in range(2) for c in ("jpeg", "webp") for t in (0.25, 0.5, 1.0)])
    assert main(["table", str(store), "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert out.count(r"\begin{tabular}") == 2 and "| codec |" not in out and "BD-rate PSNR (\\%)" in out


# --- codec colours changed between plots --------------------------------------------------------------------------


def test_codec_colours_are_the_same_in_every_plot(tmp_path):
    from codecbench.report.colours import colour

    both = _store(tmp_path / "a", [_rec(0, c, t, t, 30 + t) for c in ("jpeg", "webp") for t in (0.25, 0.5)])
    one = _store(tmp_path / "b", [_rec(0, "webp", t, t, 30 + t) for t in (0.25, 0.5)])
    svgs = [plots.plot_curves(reports.aggregate(reports.load_points(s)), s / "rd", formats=("svg",))[0].read_text()
            for s in (both, one)]
    assert all(colour("webp") in svg for svg in svgs) and colour("webp") != colour("jpeg")
    script = "from codecbench.report.colours import colour; print(colour('My Codec'))"
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(runs) == 1  # no dependence on Python's per-process hash seed


# --- table rows sorted case-sensitively ---------------------------------------------------------------------------


def test_rows_sort_case_insensitively(tmp_path):
    store = _store(tmp_path, [_rec(0, c, 0.5, 0.5, 30.0) for c in ("webp", "jpeg", "avif", "bpg")] +
                   [_rec(1, lab.lower(), 0.5, 0.5, 30.0, label=lab) for lab in ("WebP2", "AVIF2", "jpeg2")])
    assert list(reports.aggregate(reports.load_points(store))["codec"]) == \
        ["avif", "AVIF2", "bpg", "jpeg", "jpeg2", "webp", "WebP2"]


# --- a missing curve point (one image unreachable) was not marked on the plot -----------------------------------


def test_partial_target_is_marked_on_the_plot(tmp_path):
    recs = [_rec(i, "webp", t, t, 30 + 10 * t) for i in range(5) for t in (0.25, 0.5)]
    recs += [_rec(i, "webp", 0.125, 0.12, 28.0) for i in range(4)] + [_rec(4, "webp", 0.125, 0.2, 27.0, "unreachable")]
    store = _store(tmp_path, recs)
    agg = reports.aggregate(reports.load_points(store))
    assert "webp 0.125 4/5" in plots.coverage_note(agg)
    svg = plots.plot_curves(agg, tmp_path / "rd", formats=("svg",))[0].read_text()
    assert "#ffffff" in svg.lower() or "fill: #ffffff" in svg  # the hollow marker of the partial target
    from codecbench.report.html import report_data

    rows = [c for c in report_data(reports.load_points(store))["curves"] if c["target"] == "0.125"]
    assert rows[0]["complete"] is False and rows[0]["n"] == 4


# --- JPEG optimize=True was a hidden default --------------------------------------------------------------------


def test_jpeg_optimize_is_an_explicit_recorded_setting(photo):
    from codecbench.codecs import registry
    from codecbench.run.point_keys import codec_key_of

    default = registry.create("jpeg")
    assert default.settings["optimize"] is True
    assert '"optimize":true' in codec_key_of(default.describe())  # committed results keep their keys
    plain = registry.create("jpeg", optimize=False)
    assert '"optimize":false' in codec_key_of(plain.describe())
    assert len(plain.encode(photo, 10)) > len(default.encode(photo, 10))
    pts = pd.DataFrame([{"codec": "jpeg", "settings": {}, "codec_key": codec_key_of(default.describe()),
                         "status": "ok", "bpp": 0.1}])
    assert "optimize=True" in reports.points_csv(pts)


# --- per-image BD: images with < 2 points are named, not dropped --------------------------------------------------


def test_per_image_bd_counts_and_names_short_images(tmp_path):
    recs = []
    for i in range(3):
        for t in (0.25, 0.5, 1.0):
            recs.append(_rec(i, "jpeg", t, t, 25 + 10 * t))
            recs.append(_rec(i, "webp", t, t * 0.8, 25 + 10 * t))  # 20 % fewer bits everywhere
    recs = [r for r in recs if not (r["image_id"] == "i2" and r["codec"] == "webp" and r["target_bpp"] != 1.0)]
    recs += [_rec(2, "webp", t, 0.3, 20.0, "unreachable") for t in (0.25, 0.5)]
    pts = reports.load_points(_store(tmp_path, recs))
    (res,) = bdstats.per_image_bd(pts, "jpeg", "psnr", resamples=50)
    s = res.summary()
    assert s["bd_rate_n"] == 2 and s["bd_rate_mean"] == pytest.approx(-20.0, abs=1e-6)
    assert s["skipped"] == 1 and "i2" in s["skipped_images"] and "webp" in s["skipped_images"]
    common = bdrate.bd_table(reports.aggregate(pts), "jpeg", ["psnr"])[0]  # only target 1.0 is common: no BD
    assert math.isnan(common.bd_rate) and common.warning
