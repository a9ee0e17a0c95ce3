"""The app in a real browser: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path("/tmp/uotviz-screens")
TIMEOUT_MS = 60_000


def _wait_idle(page: Page) -> None:
    page.wait_for_selector(
        "[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS
    )


def _plan_title(page: Page):
    return page.locator("[data-testid=stPlotlyChart]").nth(1).locator(".gtitle")


def _screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    try:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOT_DIR / name)
    except OSError:
        pass  # the copy is for people to look at; the test does not depend on it
    return path


def test_slider_and_preset_update_the_plan(
    chromium_executable: str, app_server: str, tmp_path: Path
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app_server)
            _wait_idle(page)
            charts = page.locator("[data-testid=stPlotlyChart]")
            expect(charts).to_have_count(2)
            expect(_plan_title(page)).to_contain_text("ε = 0.05, τ1 = ∞, τ2 = ∞")

            preset = page.get_by_role("combobox", name="Preset (panel of Figure 1)")
            expect(preset).to_have_value("OT (g)")

            eps = page.locator('input[type=range][aria-label="ε"]')
            before = int(eps.input_value())
            eps.focus()
            eps.press("ArrowRight")
            expect(eps).to_have_attribute("aria-valuetext", "0.1")
            assert int(eps.input_value()) == before + 1
            expect(preset).to_have_value("Custom")
            expect(_plan_title(page)).to_contain_text("ε = 0.1, τ1 = ∞, τ2 = ∞")
            _wait_idle(page)
            _screenshot(page, tmp_path, "eps-arrow-right.png")

            preset.click()
            page.get_by_role("option", name="Hungarian (d)").click()
            expect(preset).to_have_value("Hungarian (d)")
            expect(eps).to_have_attribute("aria-valuetext", "0")
            expect(_plan_title(page)).to_contain_text("ε = 0, τ1 = ∞, τ2 = ∞")
            expect(page.get_by_text("method hungarian")).to_be_visible()
            _wait_idle(page)
            screenshot = _screenshot(page, tmp_path, "preset-hungarian.png")

            assert screenshot.stat().st_size > 10_000
            expect(page.locator("[data-testid=stException]")).to_have_count(0)
            heatmap = charts.nth(1).locator(".heatmaplayer")
            expect(heatmap).to_be_visible()
            # the Hungarian plan of Figure 1(d) has five ones (4 -> A, 5 -> B, 1, 2, 3 -> ∅)
            cells = charts.nth(1).locator(".heatmaplayer text")
            expect(cells).to_have_count(15)
            assert [text.strip() for text in cells.all_text_contents()].count("1.000") == 5
        finally:
            browser.close()
