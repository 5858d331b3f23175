"""Write report.html for committed results and take its screenshots in headless Chromium (the test's driver).

    python bench/report_screenshots.py [results/kodak results/automotive-camvid ...] [--images 2]

For each folder: writes report.html, table_ci.md, bdrate_ci.md and paired.md (means and BD with 95 % intervals,
per-image BD, paired differences against the anchor at 0.0625 bpp for CamVid, else at its lowest target), opens
the page from disk, fails on any console error, and saves report.png (curves and tables) and report_browser.png
(the per-image browser: the anchor against the best codec of the BD table, side by side with the segmentation
overlay where there is one), plus report_open.json (file size, open time, load average). Extra columns from
``ssimulacra2_points.csv`` (see bench/ssimulacra2_kodak.py) are merged into the points when present.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

ANCHORS = {"kodak": "jpeg", "automotive-camvid": "JPEG 2000"}
PAIRED_AT = {"automotive-camvid": "0.0625"}  # the paper's Table II rate


def with_ssimulacra2(points, folder: Path):
    import pandas as pd

    extra = folder / "ssimulacra2_points.csv"
    if not extra.is_file():
        return points
    s2 = pd.read_csv(extra)
    s2 = s2[s2["reproduced"].astype(str) == "True"][["key", "ssimulacra2"]]
    return points.merge(s2, on="key", how="left")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", default=["results/kodak", "results/automotive-camvid"])
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--plots", action="store_true", help="also rewrite rd.svg and rd_logx.svg")
    ap.add_argument("--shots-only", action="store_true", help="only open the existing report.html and screenshot it")
    args = ap.parse_args(argv)
    args.plots_title = {"kodak": "kodak", "automotive-camvid": "automotive-camvid: CamVid test, 233 frames"}

    import torch

    torch.set_num_threads(1)
    from chromium import missing_reason

    from codecbench.report import bdrate, reports
    from codecbench.report.browser import browser_images
    from codecbench.report.html import write_html
    from codecbench.report.outputs import interval_tables

    if missing_reason():
        print(missing_reason(), file=sys.stderr)
        return 2
    if args.shots_only:  # the pages exist: only open them and take the screenshots
        for folder in (Path(f).resolve() for f in args.folders):
            points = with_ssimulacra2(reports.load_points(folder), folder)
            agg = reports.aggregate(points)
            shoot(folder / "report.html", folder, points, agg, ANCHORS.get(folder.name) or agg["codec"].iloc[0], {})
        return 0
    for folder in (Path(f).resolve() for f in args.folders):
        t0 = time.perf_counter()
        points = with_ssimulacra2(reports.load_points(folder), folder)
        agg = reports.aggregate(points)
        anchor = ANCHORS.get(folder.name) or agg["codec"].iloc[0]
        tables = {"Means per codec and target (± sample std over images)": reports.to_markdown(agg),
                  "BD-rates (common subset)": bdrate.bd_markdown(bdrate.bd_table(agg, anchor))}
        extra = interval_tables(points, anchor, resamples=args.resamples, paired_target=PAIRED_AT.get(folder.name))
        (folder / "table_ci.md").write_text(extra["means_ci"], encoding="utf-8")
        tables["Means with 95 % intervals"] = extra["means_ci"]
        (folder / "bdrate_ci.md").write_text(extra["bd_ci"], encoding="utf-8")
        (folder / "paired.md").write_text(extra["paired"], encoding="utf-8")
        tables["BD with 95 % intervals; per-image BD"] = extra["bd_ci"]
        tables["Paired differences against the anchor"] = extra["paired"]
        if args.plots:  # the committed curves with the common-subset note and the partial targets marked
            from codecbench.report import plots

            for stem, log_x in (("rd", False), ("rd_logx", True)):
                plots.plot_curves(agg, folder / stem, formats=("svg",), log_x=log_x, title=args.plots_title.get(
                    folder.name))
        t1 = time.perf_counter()
        shown = browser_images(folder, images=args.images, log=lambda s: print(s, file=sys.stderr))
        t2 = time.perf_counter()
        page = write_html(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder,
                          folder / "report.html", title=folder.name, browser=shown, tables=tables, points=points)
        shoot(page, folder, points, agg, anchor, {"tables_s": round(t1 - t0, 1), "images_s": round(t2 - t1, 1),
                                                 "browser_images": len(shown["images"])})
    return 0


def shoot(page: Path, folder: Path, points, agg, anchor: str, extra: dict) -> None:
    """Open the page in headless Chromium, check the console, save the screenshots and report_open.json."""
    from chromium import chromium, console_errors, open_time_ms
    from selenium.webdriver.support.ui import Select

    from codecbench.report import bdrate

    best = bdrate.bd_table(agg, anchor, ["psnr"])
    best = min((r for r in best if r.bd_rate == r.bd_rate), key=lambda r: r.bd_rate).codec
    with chromium(1400, 1100) as d:
        d.get(page.as_uri())
        d.execute_script("return 1")
        opened = open_time_ms(d)
        errors = console_errors(d)
        if errors:
            raise SystemExit(f"{page}: console errors: {errors}")
        d.save_screenshot(str(folder / "report.png"))
        targets = [o.get_attribute("value") for o in Select(d.find_element("id", "sel-target")).options]
        low = targets[1] if len(targets) > 1 else targets[0]
        Select(d.find_element("id", "sel-target")).select_by_value(low)
        Select(d.find_element("id", "sel-a")).select_by_value(anchor)
        Select(d.find_element("id", "sel-b")).select_by_value(best)
        seg = d.find_element("id", "chk-seg")
        if seg.is_enabled():
            seg.click()
        d.execute_script("document.getElementById('browser-section').scrollIntoView()")
        time.sleep(0.5)
        d.save_screenshot(str(folder / "report_browser.png"))
    info = {"report": str(page.relative_to(ROOT) if page.is_relative_to(ROOT) else page),
            "size_bytes": page.stat().st_size, "open_ms": round(opened, 1), "points": int(len(points)),
            **extra, "loadavg": round(os.getloadavg()[0], 2), "compared": [anchor, best, low]}
    (folder / "report_open.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(info))


if __name__ == "__main__":
    sys.exit(main())
