"""The embeddable widget (``/embed``, ``/embed.js``, ``/oembed``) in a real browser.

Partner pages come from a second loopback server (another port, so another origin): the widget
is framed cross-origin as on a real site and nothing leaves the machine. Fixture
points: 西街道工会服务站 (open station, 116.22, 39.85), 烤鸭店暖心驿站 (open rest point,
116.27, 39.86), 西街道第三工会服务站 (planned station, 116.205, 39.85).
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from geo.config import Settings
from geo.importers.files import ImportKind, import_file
from geo.store import migrate
from geo.store.db import make_engine, session_scope
from tests.browser import ARTIFACTS, served

playwright_api = pytest.importorskip("playwright.sync_api")
PAYLOAD_LIMIT = 150 * 1024
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def partner() -> Iterator[dict[str, str]]:
    """A partner site on another port: ``pages[path] = html``; yields the dict with "origin".

    A real loopback server, not a routed fake origin: Chromium refuses to let a page from an
    unknown (public) address frame a loopback one (Local Network Access).
    """
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not found").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pages["origin"] = f"http://localhost:{server.server_address[1]}"
    yield pages
    server.shutdown()
    server.server_close()


class Host:
    """A partner page holding ``html``; console errors of every frame collected."""

    def __init__(self, browser, partner: dict[str, str], html: str, host: str = "localhost",
                 **context) -> None:  # fmt: skip
        self.context = browser.new_context(viewport={"width": 800, "height": 600}, **context)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else 0)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        path = f"/page{len(partner)}"
        head = '<!doctype html><meta charset=utf-8><link rel="icon" href="data:,">'
        partner[path] = f"{head}<h1>Partner</h1>{html}"
        self.origin = partner["origin"].replace("localhost", host)
        self.page.goto(self.origin + path)

    def widget(self):
        """The widget's frame once drawn (a lazy iframe from embed.js may come late)."""
        for _ in range(200):
            frame = next((f for f in self.page.frames if "/embed" in f.url), None)
            if frame:
                frame.wait_for_function(
                    "() => document.body.dataset.state === 'ready'", timeout=15000
                )
                return frame
            self.page.wait_for_timeout(50)
        raise AssertionError("no widget frame")


def counts(frame) -> tuple[int, int]:
    return (int(frame.evaluate("() => document.body.dataset.visible")),
            int(frame.evaluate("() => document.body.dataset.drawn")))  # fmt: skip


def iframe(src: str, height: int = 400) -> str:
    return f'<iframe src="{src}" width="600" height="{height}" style="border:0"></iframe>'


def test_widget_in_an_iframe_applies_kinds_and_bbox(browser, base, partner):
    ARTIFACTS.mkdir(exist_ok=True)
    west = "116.19,39.83,116.24,39.87"
    host = Host(browser, partner, iframe(f"{base}/embed?kinds=subdistrict_station"
                                f"&layers=boundaries,stations,planned&bbox={west}")
                + iframe(f"{base}/embed?bbox={west}")
                + iframe(f"{base}/embed?kinds=rest_point&lang=en"))  # fmt: skip
    frames = [f for f in host.page.frames if "/embed" in f.url]
    assert len(frames) == 3
    for frame in frames:
        frame.wait_for_function("() => document.body.dataset.state === 'ready'", timeout=15000)
    both_stations, open_only, rest_points = frames
    assert counts(both_stations)[0] == 2  # the open and the planned station in the west
    assert counts(open_only)[0] == 1  # open places only by default; the rest point is east
    assert counts(rest_points)[0] == 1
    assert rest_points.locator("#count").inner_text() == "1 places"
    assert both_stations.locator("#count").inner_text() == "2 个地点"
    # The bbox is in view; points are drawn on one canvas, never one DOM node each.
    bounds = open_only.evaluate("() => window.nuanxin.map.getBounds().toBBoxString()")
    w, s, e, n = map(float, bounds.split(","))
    assert w <= 116.19 and s <= 39.83 and e >= 116.24 and n >= 39.87
    for frame in frames:
        assert frame.locator(".leaflet-marker-icon").count() == 0
        assert frame.locator("path.leaflet-interactive").count() == 0
    host.page.screenshot(path=str(ARTIFACTS / "widget-host.png"), full_page=True)
    host.context.close()
    assert host.problems == []


def test_same_options_same_view(browser, base, partner):
    src = f"{base}/embed?lat=39.855&lon=116.24&zoom=13.5&layers=boundaries,stations,planned"
    views = []
    for _ in range(2):
        host = Host(browser, partner, iframe(src))
        frame = host.widget()
        views.append(frame.evaluate(
            "() => { const m = window.nuanxin.map, c = m.getCenter();"
            " return [c.lat.toFixed(6), c.lng.toFixed(6), m.getZoom()]; }"))  # fmt: skip
        assert counts(frame) == (3, 3)
        host.context.close()
        assert host.problems == []
    assert views[0] == views[1] == ["39.855000", "116.240000", 13.5]


def test_script_snippet_inserts_the_same_iframe(browser, base, partner):
    snippet = httpx.get(f"{base}/embed/snippet?kinds=rest_point&height=320").json()
    assert snippet["url"] == f"{base}/embed?kinds=rest_point&height=320"
    assert snippet["iframe"].startswith(f'<iframe src="{base}/embed?kinds=rest_point&amp;height=')
    assert 'data-kinds="rest_point"' in snippet["script"]
    host = Host(browser, partner, snippet["script"])
    frame = host.widget()
    assert counts(frame)[0] == 1
    element = host.page.locator("iframe")
    assert element.get_attribute("height") == "320"
    assert element.get_attribute("src") == snippet["url"]
    host.context.close()
    assert host.problems == []


def test_nearest_to_the_visitor(browser, base, partner):
    frame_html = iframe(f"{base}/embed?nearest=1").replace("<iframe", '<iframe allow="geolocation"')
    here = {"longitude": 116.215, "latitude": 39.851}
    host = Host(browser, partner, frame_html, geolocation=here, permissions=["geolocation"])
    frame = host.widget()
    frame.wait_for_function("() => document.body.dataset.nearest !== undefined", timeout=15000)
    assert frame.evaluate("() => document.body.dataset.nearest") in {"1", "2"}
    # Nearest *open* place: 西街道 (440 m) in its hours, else 烤鸭店 (4.8 km, 24/7). The
    # widget asks for "now", so compare with what the API answers now for the same point.
    now = httpx.get(f"{base}/locate", params={"lon": 116.215, "lat": 39.851, "k": 3}).json()
    expected = now["results"][0]["name"]
    assert expected in {"西街道工会服务站", "烤鸭店暖心驿站"}
    assert expected in frame.locator("#nearest").inner_text()
    host.page.screenshot(path=str(ARTIFACTS / "widget-nearest.png"))
    host.context.close()
    assert host.problems == []


def test_frame_ancestors_from_the_allowed_origins(browser, base, partner, database_url):
    default = httpx.get(f"{base}/embed")
    assert "frame-ancestors 'self' *" in default.headers["content-security-policy"]
    allowed_origin = partner["origin"]  # http://localhost:<port>; 127.0.0.1:<port> is not allowed
    origins = f"{allowed_origin}, https://*.example.org, bad;x"
    settings = Settings(environment="test", database_url=database_url, embed_origins=origins)
    with served(settings) as strict_base:
        _frame_ancestors(browser, strict_base, partner, allowed_origin)


def _frame_ancestors(browser, base: str, partner: dict[str, str], allowed_origin: str) -> None:
    policy = httpx.get(f"{base}/embed").headers["content-security-policy"]
    assert policy.endswith(f"frame-ancestors 'self' {allowed_origin} https://*.example.org")
    allowed = Host(browser, partner, iframe(f"{base}/embed"))
    assert counts(allowed.widget())[1] == 2
    allowed.context.close()
    assert allowed.problems == []
    refused = Host(browser, partner, iframe(f"{base}/embed"), host="127.0.0.1")
    refused.page.wait_for_timeout(1500)
    frame = next(f for f in refused.page.frames if f != refused.page.main_frame)
    assert frame.url.startswith("chrome-error://")  # blocked by frame-ancestors
    assert any("frame-ancestors" in p for p in refused.problems)
    refused.context.close()


def test_oembed(base):
    url = f"{base}/embed?kinds=rest_point&height=300"
    response = httpx.get(f"{base}/oembed", params={"url": url, "format": "json"})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "1.0" and body["type"] == "rich"
    assert body["height"] == 300 and isinstance(body["width"], int)
    assert body["html"].startswith(f'<iframe src="{base}/embed?kinds=rest_point&amp;height=300"')
    assert body["provider_url"] == base + "/"
    small = httpx.get(f"{base}/oembed", params={"url": url, "maxheight": 200}).json()
    assert small["height"] == 200 and 'height="200"' in small["html"]
    assert httpx.get(f"{base}/oembed", params={"url": url, "format": "xml"}).status_code == 501
    other = httpx.get(f"{base}/oembed", params={"url": "https://elsewhere.test/embed"})
    assert other.status_code == 404
    bad = httpx.get(f"{base}/oembed", params={"url": f"{base}/embed?kinds=castle"})
    assert bad.status_code == 400
    js = httpx.get(f"{base}/embed.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "document.currentScript" in js.text


def test_widget_payload_is_small(base):
    """HTML + JS + CSS + Leaflet as sent gzipped by the server (tiles and data excluded)."""
    assets = [
        "/embed",
        "/embed.js",
        "/static/locator.js",
        "/static/locator.css",
        "/static/vendor/leaflet-1.9.4/leaflet.js",
        "/static/vendor/leaflet-1.9.4/leaflet.css",
    ]
    html = httpx.get(f"{base}/embed").text
    assert all(path in html for path in assets[2:])  # what the page really loads
    sizes = {}
    for path in assets:  # level 9, as the app's GZip middleware sends them
        sizes[path] = len(gzip.compress(httpx.get(base + path).content, 9))
    total = sum(sizes.values())
    print(f"\nwidget payload, gzipped: {total / 1024:.1f} KB "
          + json.dumps({k: round(v / 1024, 1) for k, v in sizes.items()}))  # fmt: skip
    assert total < PAYLOAD_LIMIT


@pytest.fixture(scope="module")
def crowded(scratch_database_url) -> Iterator[str]:
    """A database with 2,500 open rest points in the tiny district (a crowded view)."""
    engine = make_engine(scratch_database_url)
    migrate.upgrade(engine)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [
        116.201 + (i % 50) * 0.00195, 39.801 + (i // 50) * 0.00195]}, "properties": {
        "source": "crowd", "external_id": f"p{i}", "kind": "rest_point", "name": f"驿站{i}",
        "status": "open", "amenities": ["hot_water"], "opening_hours": "24/7"}}
        for i in range(2500)]  # fmt: skip
    path = ARTIFACTS / "crowd.geojson"
    ARTIFACTS.mkdir(exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with session_scope(engine) as session:
        import_file(session, FIXTURES / "boundaries_tiny.geojson", ImportKind.BOUNDARIES)
        import_file(session, path, ImportKind.STATIONS, strict=True)
    path.unlink()
    engine.dispose()
    with served(Settings(environment="test", database_url=scratch_database_url)) as url:
        yield url


def test_thousands_of_points_on_one_canvas(browser, crowded, partner):
    host = Host(browser, partner, iframe(f"{crowded}/embed?layers=boundaries,stations", height=500))
    frame = host.widget()
    visible, drawn = counts(frame)
    assert visible == drawn == 2500
    assert frame.locator(".leaflet-marker-icon").count() == 0
    assert frame.locator("svg path").count() == 0
    assert frame.locator("canvas").count() == 1
    host.page.screenshot(path=str(ARTIFACTS / "widget-2500.png"))
    host.context.close()
    assert host.problems == []


def test_embed_options_are_checked(base):
    for query in ("bbox=1,2,3", "lat=39.9", "layers=satellite", "needs=caviar", "height=5"):
        response = httpx.get(f"{base}/embed?{query}")
        assert response.status_code == 400, query
        assert response.headers["content-type"] == "application/problem+json"
