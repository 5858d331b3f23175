"""The HTML report in a real headless Chromium: loads with no console error, a curve toggle works, and the image
comparison shows the chosen decoded images (pixels checked against the run's --keep artifacts)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from chromium import chromium, console_errors, missing_reason
from PIL import Image

from codecbench.cli.main import main
from codecbench.report import reports

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=missing_reason() or "")


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory):
    from skimage import data

    tmp = tmp_path_factory.mktemp("html")
    (tmp / "photos").mkdir()
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:160, :192])).save(tmp / "photos" / "a.png")
    Image.fromarray(np.ascontiguousarray(data.coffee()[:160, 100:292])).save(tmp / "photos" / "b.png")
    suite = tmp / "tiny.toml"
    suite.write_text(f"""
[suite]
name = "tiny"
targets = [0.25, 0.5, 1.0]
metrics = ["psnr", "ssim"]
output = "{tmp / 'out'}"
keep = true
[[datasets]]
name = "folder"
root = "{tmp / 'photos'}"
[[codecs]]
name = "jpeg"
[[codecs]]
name = "webp"
label = "WebP"
""")
    assert main(["run", str(suite), "--no-progress", "--workers", "1"]) == 0
    return tmp / "out"


def _pixels(driver, selector: str, points: list[tuple[int, int]]) -> list[list[int]]:
    return driver.execute_script("""
        var img = document.querySelector(arguments[0]);
        var c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        var g = c.getContext('2d'); g.drawImage(img, 0, 0);
        return arguments[1].map(function (p) { return Array.from(g.getImageData(p[0], p[1], 1, 1).data.slice(0, 3)); });
    """, selector, [list(p) for p in points])


def test_report_page_in_headless_chromium(kept_run):
    from selenium.webdriver.support.ui import Select

    page = kept_run / "report.html"
    assert page.is_file(), "run writes report.html beside the other outputs"
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    points = reports.load_points(kept_run)
    with chromium() as d:
        d.get(page.as_uri())
        assert console_errors(d) == []
        assert len(d.find_elements("css selector", "#curves svg")) == 2  # PSNR, SSIM
        # curve toggle: WebP's lines disappear, JPEG's stay
        n_jpeg = len(d.find_elements("css selector", 'path.curve[data-codec="jpeg"]'))
        assert n_jpeg == 2 and len(d.find_elements("css selector", 'path.curve[data-codec="WebP"]')) == 2
        d.find_element("css selector", '#codec-toggles input[data-codec="WebP"]').click()
        assert len(d.find_elements("css selector", 'path.curve[data-codec="WebP"]')) == 0
        assert len(d.find_elements("css selector", 'circle[data-codec="WebP"]')) == 0
        assert len(d.find_elements("css selector", 'path.curve[data-codec="jpeg"]')) == n_jpeg
        d.find_element("css selector", "#scale-log").click()
        assert "log scale" in d.find_element("css selector", "#curves svg").text
        # image comparison: image b, target 0.5, jpeg against WebP side by side
        Select(d.find_element("id", "sel-image")).select_by_value("b")
        Select(d.find_element("id", "sel-target")).select_by_value("0.5")
        Select(d.find_element("id", "sel-a")).select_by_value("jpeg")
        Select(d.find_element("id", "sel-b")).select_by_value("WebP")
        for side, codec in (("cmp-a", "jpeg"), ("cmp-b", "WebP")):
            rec = points[(points.image_id == "b") & (points.codec == codec) & (points.target == "0.5")].iloc[0]
            img = d.find_element("css selector", f"#{side} img")
            assert img.get_attribute("data-key") == rec["key"]
            assert d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) == 192
            assert f"{rec['bpp']:.4f} bpp" in d.find_element("css selector", f"#{side} figcaption").text
            kept = next(kept_run.glob(f"artifacts/{codec}-*/folder/b@0.5.png"))
            want = np.asarray(Image.open(kept).convert("RGB"))
            spots = [(0, 0), (37, 91), (191, 159), (120, 40)]
            got = _pixels(d, f"#{side} img", spots)
            assert got == [want[y, x].tolist() for x, y in spots]
        assert "jpeg" in d.find_element("id", "cmp-provenance").text
        # flicker and swipe views show the same two points
        Select(d.find_element("id", "sel-mode")).select_by_value("swipe")
        keys = {e.get_attribute("data-key") for e in d.find_elements("css selector", "#swipe-view img")}
        assert len(keys) == 2
        assert console_errors(d) == []


def test_report_command_writes_one_self_contained_file(kept_run, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(kept_run), "-o", str(out), "--images", "1", "--resamples", "50"]) == 0
    text = out.read_text(encoding="utf-8")
    data = json.loads(text.split('type="application/json">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</"))
    assert list(data["browser"]["images"]) == ["a"] and data["tables"]
    shown = data["browser"]["images"]["a"]["points"].values()
    assert all(p["img"].startswith("data:image/webp;base64,") for p in shown)
    assert {c["name"] for c in data["codecs"]} == {"jpeg", "WebP"}
    assert all(c["settings"] for c in data["codecs"])  # effective settings shown as provenance
