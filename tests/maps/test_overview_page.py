"""The overview page in a real browser (Debian Chromium driven by Playwright)."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, served

playwright_api = pytest.importorskip("playwright.sync_api")


def test_overview_map_draws_boundaries_and_stations_without_errors(browser, engine, settings):
    ARTIFACTS.mkdir(exist_ok=True)
    with served(settings) as base:
        page = browser.new_page(viewport={"width": 390, "height": 780})  # a phone
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
        page.goto(base + "/map")
        page.wait_for_function("document.body.dataset.loaded !== undefined", timeout=15000)
        assert page.evaluate("document.body.dataset.loaded") == "3"
        status = page.locator("#status").inner_text()
        assert "3 个站点，其中 2 个开放" in status
        assert page.evaluate("document.body.dataset.areas") == "3"
        # Everything is drawn on one canvas (preferCanvas): no DOM node per point.
        assert page.locator("canvas.leaflet-zoom-animated").count() == 1
        assert page.locator(".leaflet-marker-icon").count() == 0
        assert page.locator("#legend div").count() == 9  # 8 kinds + the planned/closed key
        page.screenshot(path=str(ARTIFACTS / "overview-fixtures.png"))
        page.close()
    assert problems == []
