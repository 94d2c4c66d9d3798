"""The widget drawing its stations from a ``.pmtiles`` on a "CDN" (``source=archive``).

The archive is ``nuanxin export tiles``'s, from the bundled data; the CDN is a static server on
another origin that answers HTTP ranges with CORS, as a real one would. The widget must draw
the same stations from it as from ``/stations``, without asking ``/stations`` at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from api.ogc.archive import write_archive
from geo.config import ApiSettings, Settings
from tests.browser import free_port, in_thread, served

playwright_api = pytest.importorskip("playwright.sync_api")

VIEW = "lat=39.8684&lon=116.2799&zoom=14"  # around 丰台区职工服务中心, among many stations


@contextmanager
def cdn(folder: Path) -> Iterator[str]:
    """A static host on its own origin: ranges (Starlette's FileResponse) and CORS for all."""
    app = Starlette(routes=[Mount("/", StaticFiles(directory=folder))], middleware=[
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"],
                   allow_headers=["*"], expose_headers=["*"])])  # fmt: skip
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    with in_thread(config) as base:
        yield base


def _visible(browser, url: str) -> tuple[int, list[str]]:
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    asked: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.wait_for_function("() => ['ready', 'error'].includes(document.body.dataset.state)",
                           timeout=30_000)  # fmt: skip
    assert page.evaluate("() => document.body.dataset.state") == "ready", errors
    drawn = int(page.evaluate("() => document.body.dataset.visible"))  # those in the view
    context.close()
    assert errors == []
    return drawn, asked


def test_the_widget_draws_the_same_stations_from_the_archive_as_from_the_api(
    browser, bundled_database_url, tmp_path
):
    # Playwright's loop runs in this thread: the export gets one of its own
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write_archive(bundled_database_url, tmp_path / "nuanxin.pmtiles",
                                               max_zoom=16)).result()  # fmt: skip
    with cdn(tmp_path) as host:
        archive = f"{host}/nuanxin.pmtiles"
        assert httpx.get(archive, headers={"Range": "bytes=0-6"}).content == b"PMTiles"
        settings = Settings(environment="test", database_url=bundled_database_url,
                            api=ApiSettings(tiles_archive_url=archive))  # fmt: skip
        with served(settings) as base:
            from_api, _ = _visible(browser, f"{base}/embed?{VIEW}")
            from_archive, asked = _visible(browser, f"{base}/embed?{VIEW}&source=archive")
            csp = httpx.get(f"{base}/embed?{VIEW}&source=archive").headers
            refused = httpx.get(f"{base}/embed?{VIEW}&source=archive&basemap=amap")
    assert from_api > 5 and from_archive == from_api, (from_api, from_archive)
    assert any(url.startswith(archive) for url in asked)
    assert not any("/stations?" in url for url in asked)  # nothing asked of the API
    assert host in csp["content-security-policy"]  # connect-src allows the CDN, and only it
    assert refused.status_code in (200, 400)  # amap is not enabled here: falls back to none


def test_source_archive_needs_a_published_archive(bundled_server):
    answer = httpx.get(f"{bundled_server}/embed?source=archive", timeout=20)
    assert answer.status_code == 400
    assert "NUANXIN_API__TILES_ARCHIVE_URL" in answer.json()["detail"]
