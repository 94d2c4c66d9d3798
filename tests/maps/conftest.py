"""Browser fixtures shared by the page tests: Debian's Chromium, and the app served on the
committed fixture data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from geo.config import Settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def base(engine, database_url) -> Iterator[str]:
    """One served app per module, on the committed fixture data (read-only in these tests)."""
    with served(Settings(environment="test", database_url=database_url)) as url:
        yield url
