"""The vector-tile overview (``/map/vector``) in Debian Chromium: MapLibre, our style, our tiles.

The oracle is the database: the stations the page draws must be exactly those the database
places inside the viewport, with their kind and status, under the page's strict CSP (worker
from 'self', no eval, no blob).
"""

from __future__ import annotations

import psycopg
import pytest

from geo.vocab import LABELS_ZH, StationKind
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.sync_api")

EDGE_PX = 6  # a circle this close to the edge may be drawn or not: neither required nor refused
# Every DB station's pixel position, and what the map drew (ids, kinds, statuses).
DRAWN_JS = """(stations) => {
  const { map } = window.nuanxin;
  const canvas = map.getCanvas(), w = canvas.clientWidth, h = canvas.clientHeight;
  const drawn = {};
  for (const f of map.queryRenderedFeatures({ layers: ["stations-not-open", "stations-open"] }))
    drawn[f.id] = [f.properties.kind, f.properties.status];
  const at = stations.map(([id, lon, lat]) => { const p = map.project([lon, lat]);
                                               return [id, p.x, p.y]; });
  return { w, h, drawn, at, zoom: map.getZoom(), errors: window.nuanxin.errors };
}"""


@pytest.fixture(scope="module")
def stations(bundled_database_url: str) -> dict[int, tuple]:
    """id: (lon, lat, kind, status, name, opening_hours)."""
    with psycopg.connect(bundled_database_url) as conn:
        rows = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom), kind, status, name, opening_hours FROM stations "
            "WHERE deleted_at IS NULL"
        ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _open(browser, base: str, path: str = "/map/vector", size=(1280, 800)):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    response = page.goto(base + path)
    page.wait_for_selector("body[data-state=ready]", timeout=30_000)
    return page, problems, response


def _compare(page, stations) -> tuple[set[int], dict]:
    """The stations drawn, after checking them against the database's positions."""
    page.wait_for_selector("body[data-state=ready]", timeout=30_000)
    seen = page.evaluate(DRAWN_JS, [[i, s[0], s[1]] for i, s in stations.items()])
    assert seen["errors"] == []
    w, h = seen["w"], seen["h"]
    inside = {
        i for i, x, y in seen["at"] if EDGE_PX <= x <= w - EDGE_PX and EDGE_PX <= y <= h - EDGE_PX
    }
    near = {
        i for i, x, y in seen["at"] if -EDGE_PX <= x <= w + EDGE_PX and -EDGE_PX <= y <= h + EDGE_PX
    }
    drawn = {int(i): v for i, v in seen["drawn"].items()}
    for i, (kind, status) in drawn.items():
        assert (kind, status) == stations[i][2:4], i
    return set(drawn), {"inside": inside, "near": near, "seen": seen}


def test_page_draws_exactly_the_stations_in_view_under_a_strict_csp(
    browser, bundled_server, stations
):
    ARTIFACTS.mkdir(exist_ok=True)
    page, problems, response = _open(browser, bundled_server)
    policy = response.headers["content-security-policy"]
    assert "worker-src 'self'" in policy and "blob" not in policy.split("img-src")[0]
    assert "unsafe-eval" not in policy
    drawn, view = _compare(page, stations)
    # It opens on the stations' extent: all 340 bundled stations are in view and drawn.
    assert view["inside"] <= drawn <= view["near"]
    assert len(view["inside"]) >= 300, len(view["inside"])
    n_open = sum(1 for i in drawn if stations[i][3] == "open")
    assert (
        page.locator("#status")
        .inner_text()
        .startswith(f"视图内 {len(drawn)} 个地点，其中 {n_open} 个开放")
    )
    # The legend names every kind in its colour, as the style draws them.
    buttons = page.locator("#kinds button")
    assert buttons.count() == len(StationKind)
    assert buttons.nth(0).inner_text() == LABELS_ZH[StationKind.SERVICE_CENTRE]

    # Zoomed in on the densest corner, the same holds with fewer stations.
    busiest = max(stations, key=lambda i: sum(
        abs(stations[i][0] - s[0]) < 0.01 and abs(stations[i][1] - s[1]) < 0.01
        for s in stations.values()))  # fmt: skip
    lon, lat = stations[busiest][:2]
    page.evaluate("([lon, lat]) => window.nuanxin.map.jumpTo({center: [lon, lat], zoom: 15})",
                  [lon, lat])  # fmt: skip
    zoomed, view = _compare(page, stations)
    assert view["seen"]["zoom"] == 15
    assert busiest in zoomed and view["inside"] <= zoomed <= view["near"]
    assert 0 < len(zoomed) < len(drawn)
    # A planned or closed place is drawn close up too (in its faint style).
    shut = next(i for i, s in stations.items() if s[3] != "open")
    page.evaluate("([lon, lat]) => window.nuanxin.map.jumpTo({center: [lon, lat], zoom: 16})",
                  list(stations[shut][:2]))  # fmt: skip
    close_up, view = _compare(page, stations)
    assert shut in close_up and view["inside"] <= close_up <= view["near"]
    page.screenshot(path=str(ARTIFACTS / "vector-zoomed.png"))
    page.close()
    assert problems == []


def test_legend_hides_a_kind_and_open_only_hides_the_rest(browser, bundled_server, stations):
    page, problems, _ = _open(browser, bundled_server)
    before, _ = _compare(page, stations)
    water = {i for i in before if stations[i][2] == "water_point"}
    assert water and water != before
    page.locator("#kinds button[data-kind=water_point]").click()
    assert (
        page.locator("#kinds button[data-kind=water_point]").get_attribute("aria-pressed")
        == "false"
    )
    without, _ = _compare(page, stations)
    assert without == before - water
    page.locator("#open-only").check()
    open_only, _ = _compare(page, stations)
    assert open_only == {i for i in without if stations[i][3] == "open"}
    assert open_only != without  # the bundled data has planned and closed places
    page.locator("#kinds button[data-kind=water_point]").click()  # shown again
    again, _ = _compare(page, stations)
    assert again == {i for i in before if stations[i][3] == "open"}
    page.close()
    assert problems == []


def test_clicking_a_station_shows_its_name_kind_and_hours(browser, bundled_server, stations):
    page, problems, _ = _open(browser, bundled_server, size=(390, 844))  # a phone
    page.evaluate("() => window.nuanxin.map.jumpTo({zoom: 13})")
    _, view = _compare(page, stations)
    # A station alone on its spot (no other within 24 px) and not under a panel.
    at = {i: (x, y) for i, x, y in view["seen"]["at"]}
    lonely = [
        i
        for i in view["inside"]
        if all(
            (at[i][0] - at[j][0]) ** 2 + (at[i][1] - at[j][1]) ** 2 > 24**2 for j in at if j != i
        )
    ]
    on_top = "([x, y]) => document.elementFromPoint(x, y).tagName"
    hit = next(i for i in lonely if page.evaluate(on_top, list(at[i])) == "CANVAS")
    page.mouse.click(*at[hit])
    popup = page.locator(".maplibregl-popup-content")
    popup.wait_for(timeout=5000)
    *_, kind, _status, name, hours = stations[hit]
    assert popup.locator("h3").inner_text() == name
    assert LABELS_ZH[StationKind(kind)] in popup.inner_text()
    assert hours is None or hours in popup.inner_text()
    # The popup is on top: its title is what the browser finds at its own centre.
    box = popup.locator("h3").bounding_box()
    centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName", centre) == "H3"
    assert page.locator("#legend").get_attribute("open") is None  # folded on a phone
    page.screenshot(path=str(ARTIFACTS / "vector-popup-phone.png"))
    page.close()
    assert problems == []


def test_english_page_and_the_plain_map_without_webgl(browser, bundled_server):
    page, problems, _ = _open(browser, bundled_server, "/map/vector?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert (
        page.locator("#kinds button[data-kind=rest_point]").inner_text() == "Warm-heart rest point"
    )
    assert "places in view" in page.locator("#status").inner_text()
    page.close()
    assert problems == []
    # A second Chromium, without WebGL: the page says so and links the Leaflet map.
    plain = browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--disable-webgl", "--disable-3d-apis"]
    )
    try:
        page = plain.new_page()
        page.goto(bundled_server + "/map/vector")
        page.wait_for_selector("body[data-state=no-webgl]", timeout=15_000)
        assert page.locator("#no-webgl").is_visible()
        assert page.locator("#no-webgl a").get_attribute("href") == "/map"
    finally:
        plain.close()
