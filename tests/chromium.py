"""Test helper: a headless Chromium (Debian's ``chromium`` + ``chromedriver``) driven by Selenium.

    with chromium() as driver: ...    # skips the calling test (pytest.skip) where Chromium is absent
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-dev-shm-usage")


def binaries() -> tuple[str | None, str | None]:
    browser = os.environ.get("CODECBENCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CODECBENCH_CHROMEDRIVER") or shutil.which("chromedriver")
    return browser, driver


def missing_reason() -> str | None:
    browser, driver = binaries()
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not browser or not driver:
        return "headless Chromium not found (apt-get install chromium chromium-driver)"
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = binaries()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.set_page_load_timeout(120)
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:
    """SEVERE entries of the page's console (script errors, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def open_time_ms(driver) -> float:
    """Navigation start to load end of the current page, in ms."""
    return float(driver.execute_script(
        "var n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;"))


def full_page_screenshot(driver, path) -> None:
    """A screenshot of the whole page (the window is resized to the document's height)."""
    h = int(driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"))
    w = int(driver.execute_script("return window.outerWidth"))
    driver.set_window_size(max(w, 1400), min(h + 40, 16000))
    driver.save_screenshot(str(path))
