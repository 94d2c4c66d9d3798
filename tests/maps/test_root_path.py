"""Served under a path prefix (``--root-path /nx`` behind a proxy that strips it): every page
works and asks for nothing outside the prefix.

The proxy is stood for by an ASGI layer around the app: uvicorn prepends its root path to every
request's path, as it does behind a stripping proxy, so a request the browser sent to
``/nx/locate`` arrives as ``/nx/nx/locate`` and the layer strips one prefix, exactly what the
proxy would have done. A request the browser sent outside the prefix (``/locate``) arrives as
``/nx/locate``: the layer refuses it with a 404 and notes it, as a real site would break.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from geo.config import ApiSettings, Settings
from tests.conftest import token_headers

playwright_api = pytest.importorskip("playwright.sync_api")

PREFIX = "/nx"
FENGTAI = "110106000000"


class StrippingProxy:
    """What nginx's ``location /nx/ { proxy_pass http://app/; }`` does, seen from inside."""

    def __init__(self, app: Any) -> None:
        self.app, self.outside = app, []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            doubled = PREFIX + PREFIX
            path: str = scope["path"]
            if not (path == doubled or path.startswith(doubled + "/")):
                self.outside.append(path.removeprefix(PREFIX) or "/")
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b"outside the prefix"})
                return
            raw = scope.get("raw_path") or path.encode()
            scope = dict(scope, path=path[len(PREFIX):], raw_path=raw[len(PREFIX):])  # fmt: skip
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def prefixed(bundled_database_url):
    from tests.browser import served

    proxies: list[StrippingProxy] = []

    def wrap(app: Any) -> StrippingProxy:
        proxies.append(StrippingProxy(app))
        return proxies[0]

    settings = Settings(environment="test", database_url=bundled_database_url,
                        api=ApiSettings(root_path=PREFIX))  # fmt: skip
    with served(settings, wrap) as base:
        yield base + PREFIX, proxies[0]


def _page(browser, **context: Any):
    page = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _ready(page, state: str = "ready") -> None:
    page.wait_for_function(f"() => document.body.dataset.state === '{state}'", timeout=30_000)


def test_every_page_works_under_the_prefix_and_asks_for_nothing_outside_it(
    browser, prefixed, bundled_database_url
):
    site, proxy = prefixed
    here = {"longitude": 116.2799, "latitude": 39.8684}
    page, errors = _page(browser, geolocation=here, permissions=["geolocation"])
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))

    page.goto(f"{site}/?open=any")
    _ready(page)
    assert int(page.evaluate("() => document.body.dataset.results")) > 0
    page.locator('#needs [data-need="toilet"]').click()  # a new search, from the page's own JS
    _ready(page)
    switch = page.locator("#lang").get_attribute("href")  # relative, or under the prefix
    assert switch.startswith("?") or switch.startswith(f"{PREFIX}/"), switch

    page.goto(f"{site}/map")
    page.wait_for_function("() => document.body.dataset.loaded !== undefined", timeout=30_000)

    page.goto(f"{site}/map/vector")  # MapLibre follows the style to TileJSON and tiles
    _ready(page)
    assert int(page.evaluate("() => document.body.dataset.inView")) > 0

    page.goto(f"{site}/embed?lat=39.8684&lon=116.2799&zoom=15")
    _ready(page)
    assert int(page.evaluate("() => document.body.dataset.drawn")) > 0
    assert page.locator("#full").get_attribute("href").startswith(f"{PREFIX}/")

    page.goto(f"{site}/plan?boundary={FENGTAI}")
    _ready(page)  # the scope's coverage was asked for and drawn
    assert page.locator("#ranking tr[data-code]").count() > 1

    page.goto(f"{site}/plan/national")
    _ready(page, "empty")  # the bundled data has no national run: the page says how to make one
    assert page.locator("#to-district").get_attribute("href").startswith(f"{PREFIX}/plan")

    page.goto(f"{site}/console")
    _ready(page, "signin")
    token = token_headers(bundled_database_url, "prefixed", "district_editor", FENGTAI)
    page.fill("#token", token["Authorization"].removeprefix("Bearer "))
    page.click("#signin-form button[type=submit]")
    _ready(page)
    assert page.evaluate("() => window.nuanxin.state.places.length") > 0

    # the partner's snippet and its oEmbed answer carry the prefix too
    snippet = httpx.get(f"{site}/embed/snippet?kinds=rest_point", timeout=20).json()
    assert snippet["url"].startswith(f"{site}/embed?")
    embedded = httpx.get(f"{site}/oembed", params={"url": snippet["url"]}, timeout=20)
    assert embedded.status_code == 200, embedded.text
    assert f'src="{site}/embed?' in embedded.json()["html"]

    assert errors == []
    assert proxy.outside == [], proxy.outside  # nothing was asked outside the prefix
    assert asked and all(url.startswith(site + "/") or url.startswith("data:") for url in asked)
