"""The worker's locator page (``/``) in a real browser: Debian Chromium driven by Playwright.

Fixture data (tests/fixtures/stations_tiny.geojson), checked by hand from (116.215, 39.851):
西街道工会服务站 (116.22, 39.85; Mo-Sa 09:00-20:00; hot water, seating, toilet) is ≈ 440 m away,
烤鸭店暖心驿站 (116.27, 39.86; 24/7; hot water, microwave, phone charging) ≈ 4.8 km; the third
station is only planned. 2026-11-25 is a Wednesday, an ordinary workday.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from geo.config import Settings
from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from tests.browser import ARTIFACTS, served

playwright_api = pytest.importorskip("playwright.sync_api")

HERE = {"longitude": 116.215, "latitude": 39.851}
WEDNESDAY = "2026-11-25T10:00"
PHONE = {"width": 360, "height": 740}
NEAR, FAR = "西街道工会服务站", "烤鸭店暖心驿站"
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


class Page:
    """A page in its own browser context, collecting console errors and failed requests."""

    def __init__(self, browser, geolocation: bool = True, **context) -> None:
        options = {"viewport": PHONE, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
        if geolocation:
            options |= {"geolocation": HERE, "permissions": ["geolocation"]}
        self.context = browser.new_context(**options | context)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else 0)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("requestfailed", self._failed)

    def _failed(self, request) -> None:
        # Leaflet cancels tile loads that leave the view while the map fits to the results:
        # an aborted tile is not a failure (it made this test flaky); anything else is.
        if request.resource_type == "image" and request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"failed {request.url} ({request.failure})")

    def ready(self, results: int | None = None) -> None:
        self.page.wait_for_function("() => document.body.dataset.state === 'ready'", timeout=15000)
        if results is not None:
            assert self.page.evaluate("document.body.dataset.results") == str(results)

    def names(self) -> list[str]:
        return self.page.locator("#results .place h2").all_inner_texts()

    def close(self) -> None:
        self.context.close()
        assert self.problems == []


@pytest.fixture
def open_page(browser) -> Iterator:
    pages: list[Page] = []

    def make(**kwargs) -> Page:
        pages.append(Page(browser, **kwargs))
        return pages[-1]

    yield make
    for page in pages:
        page.close()  # asserts no console errors on every page


def test_nearest_open_place_first_and_a_need_filter_changes_the_list(open_page, base):
    ARTIFACTS.mkdir(exist_ok=True)
    view = open_page()
    view.page.goto(f"{base}/?at={WEDNESDAY}")
    view.ready(results=2)
    assert view.names() == [NEAR, FAR]
    first = view.page.locator("#place-1")
    assert "440 米" in first.inner_text() and "步行约 7 分钟" in first.inner_text()
    assert "开放至 20:00" in first.inner_text()
    assert "卫生间" in first.locator(".amenities").inner_text()
    assert "提供方：某烤鸭店" in view.page.locator("#place-2").inner_text()
    assert "全天开放" in view.page.locator("#place-2").inner_text()
    assert view.page.locator(".leaflet-marker-icon.pin").count() == 2
    view.page.screenshot(path=str(ARTIFACTS / "locator-phone.png"))
    view.page.screenshot(path=str(ARTIFACTS / "locator-phone-full.png"), full_page=True)
    assert view.page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    view.page.locator('#needs [data-need="microwave"]').click()
    view.ready(results=1)
    assert view.names() == [FAR]
    assert "need=microwave" in view.page.url  # the filter is kept in the URL
    assert (
        view.page.locator('#needs [data-need="microwave"]').get_attribute("aria-pressed") == "true"
    )
    assert view.page.locator("#results .amenities li.match").all_inner_texts() == ["微波炉"]


def test_navigation_links_carry_converted_coordinates(open_page, base):
    view = open_page()
    view.page.goto(f"{base}/?at={WEDNESDAY}&need=microwave")
    view.ready(results=1)
    links = {a.get_attribute("data-app"): a.get_attribute("href")
             for a in view.page.locator("#place-1 a.nav").all()}  # fmt: skip
    assert set(links) == {"amap", "baidu", "osm", "geo"}
    g_lon, g_lat = wgs84_to_gcj02(116.27, 39.86)
    b_lon, b_lat = wgs84_to_bd09(116.27, 39.86)
    amap = parse_qs(urlsplit(links["amap"]).query)
    lon, lat, name = amap["to"][0].split(",")
    assert (float(lon), float(lat), name) == (pytest.approx(g_lon, abs=1e-6),
                                              pytest.approx(g_lat, abs=1e-6), FAR)  # fmt: skip
    baidu = parse_qs(urlsplit(links["baidu"]).query)
    latlng = baidu["destination"][0].split("|")[0].removeprefix("latlng:").split(",")
    assert [float(v) for v in latlng] == [pytest.approx(b_lat, abs=1e-6),
                                          pytest.approx(b_lon, abs=1e-6)]  # fmt: skip
    assert baidu["coord_type"] == ["bd09ll"]
    assert "route=%3B39.860000%2C116.270000" in links["osm"]  # WGS-84, unshifted
    assert links["amap"].startswith("https://uri.amap.com/navigation?")
    # Each is a real touch target.
    box = view.page.locator("#place-1 a.nav").first.bounding_box()
    assert box and box["height"] >= 44


def test_refused_geolocation_then_tap_on_the_map(open_page, base):
    view = open_page(geolocation=False)
    view.page.goto(f"{base}/?at={WEDNESDAY}")
    view.page.wait_for_function("() => document.body.dataset.geo === 'denied'", timeout=15000)
    assert "请点地图" in view.page.locator("#status").inner_text()
    view.page.wait_for_function("() => document.body.dataset.areas === '3'")
    point = view.page.evaluate(
        "(() => { const m = window.nuanxin.map; m.setView([39.86, 116.27], 14, {animate: false});"
        " const p = m.latLngToContainerPoint([39.8605, 116.2695]); return [p.x, p.y]; })()"
    )
    box = view.page.locator("#map").bounding_box()
    view.page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    view.ready()
    assert view.names()[0] == FAR  # tapped next to the roast-duck restaurant
    lon, lat = map(float, view.page.evaluate("document.body.dataset.here").split(","))
    assert lon == pytest.approx(116.2695, abs=5e-4) and lat == pytest.approx(39.8605, abs=5e-4)


def test_search_by_subdistrict_name(open_page, base):
    view = open_page(geolocation=False)
    view.page.goto(f"{base}/?at={WEDNESDAY}")
    view.page.wait_for_function("() => document.body.dataset.geo === 'denied'", timeout=15000)
    view.page.locator("#search").fill("东街道")
    view.page.locator("#search-results .pick").first.click()
    view.ready()
    assert view.names()[0] == FAR  # the east subdistrict's only open place


def test_english_switch_keeps_the_filters(open_page, base):
    view = open_page()
    view.page.goto(f"{base}/?at={WEDNESDAY}&need=toilet&profile=courier")
    view.ready(results=1)
    assert view.page.locator("html").get_attribute("lang") == "zh-CN"
    view.page.locator("#lang").click()
    view.page.wait_for_url("**lang=en**")
    view.ready(results=1)
    query = parse_qs(urlsplit(view.page.url).query)
    assert query["need"] == ["toilet"] and query["profile"] == ["courier"]
    assert query["at"] == [WEDNESDAY]
    assert view.page.locator("html").get_attribute("lang") == "en"
    assert view.page.locator("h1").inner_text() == "Nuanxin · nearest rest point"
    text = view.page.locator("#place-1").inner_text()
    assert "Open until 20:00" in text and "Toilet" in text and "min walk" in text
    assert view.page.locator('#profiles [data-profile="courier"]').get_attribute(
        "aria-pressed"
    ) == "true"  # fmt: skip
    view.page.locator("#lang").click()  # and back
    view.page.wait_for_url(lambda url: "lang=" not in url)
    view.ready(results=1)
    assert view.page.locator("h1").inner_text() == "暖心驿站 · 找最近的休息点"


def test_notice_when_nothing_is_open(open_page, base):
    view = open_page()
    view.page.goto(f"{base}/?at=2026-11-25T03:00&need=toilet")
    view.ready(results=0)
    notice = view.page.locator("#notice")
    assert notice.is_visible()
    assert "你到达时都未开放" in notice.inner_text()
    assert "最早 09:00 开放" in notice.inner_text()
    english = open_page()
    english.page.goto(f"{base}/?at=2026-11-25T03:00&need=toilet&lang=en")
    english.ready(results=0)
    assert "none open when you would arrive" in english.page.locator("#notice").inner_text()


def test_closes_soon_is_shown(open_page, base):
    view = open_page()
    view.page.goto(f"{base}/?at=2026-11-25T19:40&need=toilet")
    view.ready(results=1)
    assert view.page.locator("#place-1 .soon").inner_text() == "即将关门"


def test_gcj02_basemap_asks_for_gcj02_and_fetches_no_remote_tile(open_page, engine, database_url):
    settings = Settings(environment="test", database_url=database_url, basemaps="amap")
    with served(settings) as base:
        _gcj02_basemap_page(open_page, base)


def _gcj02_basemap_page(open_page, base: str) -> None:
    view = open_page()
    tiles: list[str] = []

    def fake_tile(route) -> None:  # never reaches the network
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)

    view.page.route("**/*", lambda route: fake_tile(route)
                    if not route.request.url.startswith(base) else route.continue_())  # fmt: skip
    with view.page.expect_response(lambda r: r.url.startswith(f"{base}/locate?")) as located:
        view.page.goto(f"{base}/?basemap=amap&at={WEDNESDAY}")
    view.ready(results=2)
    response = located.value
    assert parse_qs(urlsplit(response.url).query)["coords"] == ["gcj02"]
    near = response.json()["results"][0]
    assert (near["lon"], near["lat"]) == pytest.approx(wgs84_to_gcj02(116.22, 39.85), abs=1e-6)
    assert tiles and all("autonavi.com" in url for url in tiles)
    marker = view.page.evaluate(
        "(() => { let ll; window.nuanxin.map.eachLayer((l) => { if (l.options.icon &&"
        " l.options.title === '西街道工会服务站') ll = l.getLatLng(); });"
        " return [ll.lng, ll.lat]; })()"
    )
    assert marker == pytest.approx([near["lon"], near["lat"]], abs=1e-6)


def test_pages_and_options(base, monkeypatch):
    page = httpx.get(f"{base}/")
    assert page.status_code == 200
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # no remote asset
    assert httpx.get(f"{base}/map").status_code == 200  # the overview moved here
    bad = httpx.get(f"{base}/?need=caviar")
    assert bad.status_code == 400 and bad.json()["field"] == "need"
    # A basemap the server does not enable falls back to none; an unknown one is refused.
    assert '"url": null' in httpx.get(f"{base}/?basemap=amap").text
    assert httpx.get(f"{base}/?basemap=nowhere").status_code == 400
    found = httpx.get(f"{base}/locator/search", params={"q": "街道", "coords": "gcj02"}).json()
    names = [r["name"] for r in found["results"]]
    assert names[:2] == ["东街道", "西街道"] and NEAR in names
    shifted = httpx.get(f"{base}/locator/shift?lon=116.22&lat=39.85&coords=gcj02").json()
    assert (shifted["lon"], shifted["lat"]) == pytest.approx(wgs84_to_gcj02(116.22, 39.85))
