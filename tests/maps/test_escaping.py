"""A name is text on every page: a station (and a subdistrict) named like an HTML injection is
shown literally by the locator, the widget, the overview map, the planner's workbench and the
report map, and runs nothing. The module's database is its own (the bundled data)."""

from __future__ import annotations

import psycopg
import pytest

from tests.maps.test_planner_page import Plan

playwright_api = pytest.importorskip("playwright.sync_api")

EVIL = "<img src=x onerror=alert(1)>"
AREA_EVIL = "<b onmouseover=alert(2)>卢沟桥</b>"
WHO_EVIL = "<img src=x onerror=alert(3)>骑手"  # who may enter: shown next to the hours
HERE = {"longitude": 116.2188, "latitude": 39.8513}  # a few metres from the station


@pytest.fixture(scope="module")
def base(bundled_server, bundled_database_url):
    with psycopg.connect(bundled_database_url) as conn:
        conn.execute(
            "INSERT INTO stations (source, external_id, kind, name, status, opening_hours, access,"
            " access_condition, geom) VALUES ('test', 'evil', 'rest_point', %s, 'open', '24/7',"
            " '{ring}', %s, ST_SetSRID(ST_MakePoint(116.2187, 39.8512), 4326))",
            (EVIL, WHO_EVIL),
        )
        conn.execute("UPDATE boundaries SET name = %s WHERE code = '110106017000'", (AREA_EVIL,))
    return bundled_server


class Watched:
    """A page whose dialogs (an injected alert) and injected elements are counted."""

    def __init__(self, browser, **context) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 800}, **context)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def injected(self) -> int:
        return self.page.locator("img[src='x'], b[onmouseover]").count()

    def close(self) -> None:
        assert self.dialogs == [] and self.injected() == 0
        self.context.close()


def test_the_locator_lists_the_name_as_text(browser, base):
    watched = Watched(browser, geolocation=HERE, permissions=["geolocation"], locale="zh-CN",
                      timezone_id="Asia/Shanghai")  # fmt: skip
    watched.page.goto(f"{base}/?open=any")
    watched.page.wait_for_function("() => document.body.dataset.state === 'ready'")
    assert EVIL in watched.page.locator("#results").inner_text()
    assert WHO_EVIL in watched.page.locator("#results .access").first.inner_text()
    watched.close()


def test_the_widget_lists_the_name_as_text(browser, base):
    watched = Watched(browser, geolocation=HERE, permissions=["geolocation"])
    watched.page.goto(f"{base}/embed?nearest=1")
    watched.page.wait_for_function("() => document.body.dataset.nearest !== undefined")
    assert EVIL in watched.page.locator("#nearest").inner_text()
    watched.close()


def test_the_overview_maps_popup_and_tooltip_show_text(browser, base):
    watched = Watched(browser)
    watched.page.goto(f"{base}/map")
    watched.page.wait_for_function("() => document.body.dataset.loaded !== undefined")
    shown = watched.page.evaluate(
        """([name, area]) => {
          const { points, areas } = window.nuanxin, out = [];
          points.eachLayer((l) => { if (l.feature.properties.name === name) {
            l.openPopup(); out.push(l.getPopup().getElement().innerText); } });
          areas.eachLayer((l) => { if (l.feature.properties.name === area) {
            l.openTooltip(); out.push(l.getTooltip().getElement().innerText); } });
          return out;
        }""",
        [EVIL, AREA_EVIL],
    )
    assert len(shown) == 2 and EVIL in shown[0] and AREA_EVIL in shown[1], shown
    assert WHO_EVIL in shown[0]
    watched.close()


def test_the_workbench_shows_station_and_area_names_as_text(browser, base):
    plan = Plan(browser, base, "?boundary=110106000000")
    plan.page.on("dialog", lambda d: (plan.problems.append(f"dialog {d.message}"), d.dismiss()))
    assert AREA_EVIL in plan.page.locator("#ranking").inner_text()
    plan.page.locator('#ranking tr[data-code="110106017000"] td[data-col="rank"]').click()
    name, x, y = plan.station("<img")
    assert name == EVIL
    plan.page.mouse.click(x, y)
    popup = plan.page.locator(".leaflet-popup", has_text="onerror")
    assert EVIL in popup.inner_text()
    popup.locator("button[data-act=close]").click()
    assert EVIL in plan.page.locator("#changes").inner_text()
    assert plan.page.locator("img[src='x'], b[onmouseover]").count() == 0
    plan.close()


def test_the_report_map_shows_names_as_text(browser, base, tmp_path):
    import httpx

    page_html = httpx.get(f"{base}/coverage?boundary=110106000000&f=html", timeout=60).text
    path = tmp_path / "report.html"
    path.write_text(page_html, encoding="utf-8")
    watched = Watched(browser)
    watched.page.goto(path.as_uri())
    watched.page.wait_for_function("() => Object.keys(window).some((k) => k.startsWith('map_'))")
    texts = watched.page.evaluate(
        """(names) => {
          const out = [];
          for (const id in window) {
            const map = window[id];
            if (!map || !map.eachLayer || !map.getCenter) continue;
            map.eachLayer((l) => {
              const p = l.feature && l.feature.properties;
              if (!p || !names.includes(p.name)) return;
              if (l.getTooltip && l.getTooltip()) { l.openTooltip();
                out.push(l.getTooltip().getElement().innerText); }
              if (l.openPopup && l.getPopup && l.getPopup()) { l.openPopup();
                out.push(l.getPopup().getElement().innerText); l.closePopup(); }
            });
          }
          return out;
        }""",
        [EVIL, AREA_EVIL],
    )
    assert any(EVIL in t for t in texts), texts
    assert any(AREA_EVIL in t for t in texts), texts
    watched.close()


def test_the_console_shows_the_name_as_text_in_list_form_and_reports(
    browser, base, bundled_database_url
):
    from tests.conftest import token_headers

    token = token_headers(bundled_database_url, "evil-console", "district_editor",
                          "110106000000")["Authorization"].removeprefix("Bearer ")  # fmt: skip
    with psycopg.connect(bundled_database_url) as conn:
        conn.execute(
            "INSERT INTO reports (station_id, kind, note, client_hash) "
            "SELECT id, 'locked', %s, 'evil' FROM stations WHERE name = %s",
            (EVIL, EVIL),
        )
    watched = Watched(browser, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = watched.page
    page.goto(f"{base}/console")
    page.wait_for_function("() => document.body.dataset.state === 'signin'")
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_function("() => document.body.dataset.state === 'ready'")
    page.fill("#q", "<img")
    page.locator("#places button", has_text="onerror").first.click()
    page.wait_for_function("() => document.body.dataset.place !== undefined")
    assert EVIL in page.locator("#places").inner_text()
    assert page.input_value("#p-name") == EVIL
    assert page.inner_text("#place-title") == EVIL
    page.click(".tab[data-tab=reports]")
    assert page.locator("#reports li", has_text="onerror").count() == 1
    assert EVIL in page.locator("#reports").inner_text()
    watched.close()
