"""The planner's workbench (``/plan``) in a real browser, on the bundled Fengtai data.

Every figure the page shows is the API's; these tests hold the page to the CLI: the same
what-if file gives the same per-subdistrict figures, and the exported table is the CLI's
``coverage.csv`` byte for byte. The module's database is its own (writes stay in it).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import psycopg
import pytest

from tests.browser import ARTIFACTS
from tests.cli.test_main import run
from tests.conftest import token_headers

playwright_api = pytest.importorskip("playwright.sync_api")

LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}
FENGTAI, LUGOUQIAO = "110106000000", "110106017000"
STATES = "['ready', 'compared', 'error', 'idle']"


class Plan:
    """The page in its own context, collecting console errors and failed requests."""

    def __init__(self, browser, base: str, query: str = "", viewport: dict | None = None) -> None:
        options = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai", "accept_downloads": True}
        self.context = browser.new_context(viewport=viewport or LAPTOP, **options)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else 0)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.goto(f"{base}/plan{query}")
        self.settled()

    def settled(self, state: str | None = None, timeout: float = 30_000) -> str:
        wanted = f"['{state}']" if state else STATES
        self.page.wait_for_function(f"() => {wanted}.includes(document.body.dataset.state)",
                                    timeout=timeout)  # fmt: skip
        return str(self.page.evaluate("() => document.body.dataset.state"))

    def pick(self, text: str) -> None:
        self.page.fill("#area-search", text)
        self.page.keyboard.press("Enter")

    def analyse(self) -> None:
        self.page.click("#analyse")
        assert self.settled() == "ready", self.message()

    def message(self) -> str:
        box = self.page.locator("#message")
        return box.inner_text() if box.is_visible() else ""

    def ranking(self) -> list[list[str]]:
        rows = self.page.locator("#ranking tbody tr[data-code]")
        return [r.split("\t") for r in rows.all_inner_texts()]

    def inside(self, code: str) -> tuple[float, float]:
        """A page point inside the polygon of ``code`` and clear of every station dot, so a
        real click there reaches the polygon (areas and stations share one canvas)."""
        self.page.wait_for_selector("body:not([data-moving])", state="attached")
        point = self.page.evaluate(
            """(code) => {
              const { map, layers } = window.nuanxin;
              const box = map.getContainer().getBoundingClientRect();
              const dots = [];
              const at = (d) => map.latLngToContainerPoint(d.getLatLng());
              layers.stations.eachLayer((d) => dots.push(at(d)));
              const within = (p, rings) => rings.reduce((odd, ring) => {
                let inside = odd;
                for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
                  const a = ring[i], b = ring[j];
                  if ((a.lat > p.lat) !== (b.lat > p.lat) &&
                      p.lng < (b.lng - a.lng) * (p.lat - a.lat) / (b.lat - a.lat) + a.lng)
                    inside = !inside;
                }
                return inside;
              }, false);
              let found = null;
              layers.areas.eachLayer((l) => {
                if (found || l.feature.id !== code) return;
                const rings = L.LineUtil.isFlat(l.getLatLngs()) ? [l.getLatLngs()]
                  : l.getLatLngs().flat(L.LineUtil.isFlat(l.getLatLngs()[0]) ? 0 : 1);
                const b = l.getBounds(), nw = map.latLngToContainerPoint(b.getNorthWest()),
                  se = map.latLngToContainerPoint(b.getSouthEast());
                for (let i = 1; i < 30 && !found; i++) for (let j = 1; j < 30 && !found; j++) {
                  const x = nw.x + (se.x - nw.x) * i / 30, y = nw.y + (se.y - nw.y) * j / 30;
                  if (x < 60 || y < 10 || x > box.width - 10 || y > box.height - 10) continue;
                  const clear = dots.every((d) => Math.hypot(d.x - x, d.y - y) > 14)
                    && document.elementFromPoint(box.left + x, box.top + y).tagName === "CANVAS";
                  if (clear && within(map.containerPointToLatLng([x, y]), rings))
                    found = [box.left + x, box.top + y];
                }
              });
              return found;
            }""",
            code,
        )
        assert point, f"no clear point of {code} in view"
        return point[0], point[1]

    def station(self, name_part: str) -> tuple[str, float, float]:
        """The name and page point of a station dot in view whose name holds ``name_part``."""
        self.page.wait_for_selector("body:not([data-moving])", state="attached")  # no pan
        found = self.page.evaluate(
            """(part) => {
              const { map, layers } = window.nuanxin;
              const box = map.getContainer().getBoundingClientRect();
              let hit = null;
              layers.stations.eachLayer((d) => {
                const p = map.latLngToContainerPoint(d.getLatLng());
                const top = document.elementFromPoint(box.left + p.x, box.top + p.y);
                if (!hit && d.station.properties.name.includes(part) && top
                    && top.tagName === "CANVAS")
                  hit = [d.station.properties.name, box.left + p.x, box.top + p.y];
              });
              return hit;
            }""",
            name_part,
        )
        assert found, f"no station named *{name_part}* in view"
        return found[0], found[1], found[2]

    def download(self, selector: str) -> bytes:
        with self.page.expect_download() as info:
            self.page.click(selector)
        return Path(info.value.path()).read_bytes()

    def close(self, refused: bool = False) -> None:
        """``refused``: the page was meant to get 4xx answers (Chrome logs each one)."""
        expected = "Failed to load resource: the server responded with a status of 4"
        assert [p for p in self.problems if not (refused and p.startswith(expected))] == []
        self.context.close()


@pytest.fixture(scope="module")
def base(bundled_server):
    return bundled_server


def _token(url: str, name: str, role: str = "admin", district: str | None = None) -> str:
    return token_headers(url, name, role, district)["Authorization"].removeprefix("Bearer ")


def test_pick_fengtai_and_find_lugouqiao_first_with_its_score_parts(browser, base):
    plan = Plan(browser, base)
    assert plan.page.title() == "暖心驿站 · 规划工作台"
    plan.pick("丰台")
    assert "丰台区" in plan.page.locator("#picked").inner_text()
    plan.analyse()
    rows = plan.ranking()
    assert len(rows) == 26
    assert rows[0][0] == "1" and "卢沟桥街道" in rows[0][1]
    assert "步行 15 分钟内居民比例" in plan.page.locator("#legend").inner_text()
    assert int(plan.page.evaluate("() => document.body.dataset.gaps")) > 0
    assert plan.page.locator("path.gap").count() > 0  # the areas beyond a walk, hatched
    # A row opens its score parts and the method in words.
    plan.page.locator(f'#ranking tr[data-code="{LUGOUQIAO}"] button.open').click()
    parts = plan.page.locator("#ranking tr.parts").inner_text()
    assert "步行不可达比例" in parts and "scaled 0..1" in parts
    # Sorting by share puts the best-served first; a click on the header turns it around.
    plan.page.click('button[data-sort="share_within_walk"]')
    shares = [float(r[2].rstrip("%")) for r in plan.ranking()]
    assert shares == sorted(shares, reverse=True) and shares[0] > shares[-1]
    assert plan.page.locator('th[aria-sort="descending"]').count() == 1
    plan.page.click('button[data-sort="share_within_walk"]')
    assert [float(r[2].rstrip("%")) for r in plan.ranking()] == sorted(shares)
    # A row zooms the map and is highlighted; a polygon highlights its row.
    before = plan.page.evaluate("() => window.nuanxin.map.getZoom()")
    plan.page.locator(f'#ranking tr[data-code="{LUGOUQIAO}"] td[data-col="rank"]').click()
    assert plan.page.evaluate("() => window.nuanxin.map.getZoom()") > before
    assert plan.page.locator(f'#ranking tr.hi[data-code="{LUGOUQIAO}"]').count() == 1
    plan.page.evaluate("() => { window.nuanxin.map.setZoom(11, {animate: false}); }")
    other = plan.page.locator("#ranking tbody tr[data-code]").nth(3).get_attribute("data-code")
    assert other
    x, y = plan.inside(other)
    plan.page.mouse.click(x, y)
    assert plan.page.locator("#ranking tr.hi").get_attribute("data-code") == other
    ARTIFACTS.mkdir(exist_ok=True)
    plan.page.screenshot(path=str(ARTIFACTS / "plan-fengtai.png"))
    plan.close()


def test_what_if_in_lugouqiao_equals_the_cli_and_the_csv_is_the_clis(
    browser, base, bundled_database_url, tmp_path
):
    plan = Plan(browser, base, f"?boundary={FENGTAI}")
    assert plan.settled() == "ready"
    plan.page.locator(f'#ranking tr[data-code="{LUGOUQIAO}"] td[data-col="rank"]').click()
    plan.page.click("#add-mode")
    x, y = plan.inside(LUGOUQIAO)
    plan.page.mouse.click(x, y)
    assert plan.page.locator("#changes li[data-action=add]").count() == 1
    plan.page.click("#compare")
    assert plan.settled() == "compared", plan.message()
    shown = {
        row.get_attribute("data-code"): (
            float(row.locator("td").nth(3).get_attribute("data-value") or "nan"),
            float(row.locator("td").nth(5).get_attribute("data-value") or "nan"),
        )
        for row in plan.page.locator("#comparison tbody tr").all()
    }
    newly = float(plan.page.locator("#newly").get_attribute("data-residents") or "nan")
    assert newly > 0
    what_if = tmp_path / "what-if-from-page.csv"
    what_if.write_bytes(plan.download('[data-export="changes.csv"]'))
    table = plan.download('[data-export="csv"]')
    plan.page.screenshot(path=str(ARTIFACTS / "plan-what-if.png"))
    plan.close()

    report = tmp_path / "report"
    run("coverage", "--boundary", FENGTAI, "--what-if", str(what_if), "--out", str(report),
        url=bundled_database_url)  # fmt: skip
    cli = {row["code"]: row for row in csv.DictReader(io.StringIO(
        (report / "what-if.csv").read_text(encoding="utf-8")))}  # fmt: skip
    assert set(cli) == set(shown)
    for code, (share_after, uncovered_change) in shown.items():
        assert math.isclose(share_after, float(cli[code]["share_within_walk_after"]),
                            rel_tol=1e-5), code  # fmt: skip
        assert math.isclose(uncovered_change, float(cli[code]["uncovered_residents_change"]),
                            rel_tol=1e-5, abs_tol=1e-6), code  # fmt: skip
    total = -sum(float(r["uncovered_residents_change"]) for r in cli.values())
    assert math.isclose(newly, total, rel_tol=1e-6)
    assert float(cli[LUGOUQIAO]["uncovered_residents_change"]) < 0
    assert table == (report / "coverage.csv").read_bytes()


def test_the_shared_url_restores_scope_moment_and_what_if(browser, base):
    plan = Plan(browser, base)
    plan.pick(LUGOUQIAO)  # by code
    plan.page.click('[data-preset="0500"]')
    plan.page.fill("#walk", "20")
    plan.page.locator("#walk").dispatch_event("change")
    plan.page.uncheck("#statuses input[value=open]")
    plan.page.check("#statuses input[value=open]")
    plan.analyse()
    name, x, y = plan.station("卢沟桥")
    plan.page.mouse.click(x, y)
    plan.page.locator(".leaflet-popup", has_text=name).locator("button[data-act]").first.click()
    # Another moved by dragging: its popup puts a handle on it, the handle is dragged.
    other, x, y = plan.station("驿站")
    plan.page.mouse.click(x, y)
    plan.page.locator(".leaflet-popup", has_text=other).locator("button[data-act=drag]").click()
    handle = plan.page.locator(".station-pin.moving").bounding_box()  # the popup may pan
    assert handle
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    plan.page.mouse.move(x, y)
    plan.page.mouse.down()
    plan.page.mouse.move(x + 30, y + 20, steps=5)
    plan.page.mouse.up()
    assert plan.page.locator("#changes li[data-action=move]").count() == 1
    plan.page.click("#add-centre")
    assert plan.page.locator("#changes li").count() == 3
    plan.page.click("#compare")
    assert plan.settled() == "compared", plan.message()
    figures = plan.page.locator("#comparison").inner_text()
    at = plan.page.input_value("#at")
    assert at.endswith("T05:00")
    plan.page.click("#share")
    url = plan.page.input_value("#share-url")
    plan.close()

    again = Plan(browser, url.split("/plan", 1)[0], "?" + url.split("?", 1)[1])
    assert again.settled() == "compared", again.message()
    assert again.page.input_value("#at") == at
    assert again.page.input_value("#walk") == "20"
    assert "卢沟桥街道" in again.page.locator("#picked").inner_text()
    changes = again.page.locator("#changes li").all_inner_texts()
    assert len(changes) == 3 and any(name in c for c in changes)
    assert any(other in c for c in changes if c.startswith("移动")), (other, changes)
    assert again.page.locator("#comparison").inner_text() == figures
    again.close()


def test_a_siting_job_runs_is_taken_and_saved_and_another_is_cancelled(
    browser, base, bundled_database_url
):
    plan = Plan(browser, base, f"?boundary={LUGOUQIAO}")
    plan.page.fill("#sites", "2")
    plan.page.click("#run")
    plan.page.wait_for_selector("#job-state[data-status=succeeded]", timeout=120_000)
    assert plan.page.locator("#proposals li").count() == 2
    assert plan.page.locator(".proposal-pin").count() == 2
    first = plan.page.locator("#proposals li").first
    assert "卢沟桥街道" in first.inner_text() and "新增覆盖" in first.inner_text()
    first.locator("[data-take]").click()
    assert plan.page.locator("#changes li[data-action=add]").count() == 1
    # Saving needs a token; with one it goes through the audited write path.
    first.locator("[data-save]").click()
    assert "编辑令牌" in plan.message()
    plan.page.fill("#token", _token(bundled_database_url, "planner-save"))
    first.locator("[data-save]").click()
    plan.page.wait_for_selector("#message[data-tone=ok]")
    with psycopg.connect(bundled_database_url) as conn:
        saved = conn.execute("SELECT id, status FROM stations WHERE name = '卢沟桥街道 新站点 1'"
                             ).fetchall()  # fmt: skip
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE table_name = 'stations' "
                               "AND row_id = %s", (saved[0][0],)).fetchone()  # fmt: skip
    assert saved[0][1] == "planned" and len(saved) == 1 and audited and audited[0] >= 1

    plan.page.fill("#sites", "5")
    plan.page.click("#run")
    plan.page.wait_for_selector("#cancel:enabled")
    plan.page.click("#cancel")
    plan.page.wait_for_selector("#job-state[data-status=cancelled]")
    with psycopg.connect(bundled_database_url) as conn:
        last = conn.execute("SELECT status, params->>'p' FROM jobs ORDER BY created_at DESC "
                            "LIMIT 1").fetchone()  # fmt: skip
    assert last == ("cancelled", "5")
    plan.close()


def test_bad_input_gets_a_plain_message_never_a_blank_map(browser, base):
    unknown = Plan(browser, base, "?boundary=110106999999")
    assert unknown.settled() == "error"
    assert "110106999999" in unknown.message()
    unknown.close(refused=True)
    late = Plan(browser, base, f"?boundary={FENGTAI}&at=2040-06-01T10:00")
    assert late.settled() == "error"
    assert "outside the holiday calendar" in late.message()
    late.close(refused=True)
    far = Plan(browser, base, f"?boundary={LUGOUQIAO}")
    far.page.evaluate("() => { window.nuanxin.map.setView([40.9, 117.4], 12, {animate: false}); }")
    far.page.click("#add-centre")
    far.page.click("#compare")
    assert far.settled() == "error"
    assert "outside" in far.message()
    assert far.page.locator("#ranking tbody tr").count() > 0  # the map and table stay
    far.close(refused=True)


def test_english_by_keyboard_on_a_laptop_and_stacked_on_a_tablet(browser, base):
    plan = Plan(browser, base, "?lang=en")
    assert plan.page.title() == "Nuanxin · planner's workbench"
    plan.page.focus("#area-search")
    plan.page.keyboard.type("Lugou")  # no English names in the data: nothing is offered
    plan.page.fill("#area-search", "")
    plan.page.keyboard.type("卢沟")
    plan.page.keyboard.press("ArrowDown")
    plan.page.keyboard.press("ArrowUp")
    plan.page.keyboard.press("Enter")
    plan.page.focus("#analyse")
    plan.page.keyboard.press("Enter")
    assert plan.settled() == "ready", plan.message()
    assert "Lugouqiao" not in plan.page.locator("#picked").inner_text()
    assert plan.ranking()[0][1].endswith("卢沟桥街道")
    assert "lang=en" in plan.page.url
    side, map_, results = (plan.page.locator(s).bounding_box() for s in (".side", "#map",
                                                                         ".results"))  # fmt: skip
    assert side and map_ and results
    assert side["x"] + side["width"] <= map_["x"] + 1 <= results["x"]
    assert results["x"] + results["width"] <= LAPTOP["width"] + 1
    plan.close()
    tablet = Plan(browser, base, f"?boundary={LUGOUQIAO}", viewport=TABLET)
    side, map_, results = (tablet.page.locator(s).bounding_box() for s in (".side", "#map",
                                                                           ".results"))  # fmt: skip
    assert side and map_ and results  # scope beside the map, the results below both
    assert map_["width"] > TABLET["width"] / 2 and side["x"] + side["width"] <= map_["x"] + 1
    assert results["y"] >= map_["y"] + map_["height"] and results["width"] >= TABLET["width"] - 20
    tablet.page.screenshot(path=str(ARTIFACTS / "plan-tablet.png"), full_page=False)
    tablet.close()


def test_a_population_file_with_bad_rows_is_refused_row_by_row(
    browser, base, bundled_database_url, tmp_path
):
    path = tmp_path / "population.csv"
    path.write_text("code,population,year\n110106999000,5000,2020\n110106001000,-3,2020\n"
                    f"{LUGOUQIAO},120000,2020\n{LUGOUQIAO},130000,2020\n",
                    encoding="utf-8")  # fmt: skip
    plan = Plan(browser, base, f"?boundary={FENGTAI}")
    editor = _token(bundled_database_url, "pop-editor", "district_editor", FENGTAI)
    plan.page.fill("#token", editor)
    plan.page.set_input_files("#pop-file", str(path))
    plan.page.click("#pop-check")
    plan.page.wait_for_selector("#pop-report[data-rejected]")
    report = plan.page.locator("#pop-report").inner_text()
    assert plan.page.locator("#pop-report").get_attribute("data-rejected") == "3"
    for where in ("line 2", "line 3", "line 5"):
        assert where in report, report
    assert "110106999000" in report
    plan.page.click("#pop-import")  # an editor may only check
    plan.page.wait_for_function("() => !document.getElementById('message').hidden")
    assert "admin" in plan.message()
    plan.problems = [p for p in plan.problems if "status of 403" not in p]
    with psycopg.connect(bundled_database_url) as conn:
        kept = conn.execute("SELECT population FROM boundaries WHERE code = %s AND "
                            "valid_to IS NULL", (LUGOUQIAO,)).fetchone()  # fmt: skip
    assert kept and kept[0] != 120000
    plan.close()
