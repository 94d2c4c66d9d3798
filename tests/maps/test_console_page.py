"""The union staff console (``/console``) in Debian's Chromium, on the bundled data.

Each flow of issue 21 end to end, through the page and its real session cookie: sign in, edit
hours and see the locator's answer change, move a station, upload a file with bad rows and fix
its mapping, accept a worker report, revert an edit; a district editor refused outside their
district; a write without the CSRF token refused; an expired session sent back to sign in.
The module's database is its own (writes stay in it).
"""

from __future__ import annotations

import httpx
import psycopg
import pytest

from geo.config import Settings
from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from tests.browser import ARTIFACTS, served
from tests.conftest import token_headers

playwright_api = pytest.importorskip("playwright.sync_api")

LAPTOP = {"width": 1366, "height": 800}
FENGTAI = "110106000000"
YONGCHANG = "永畅超市暖心驿站"  # bundled, Fengtai, Mo-Su 07:00-21:00
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def _token(
    url: str, name: str, role: str = "district_editor", district: str | None = FENGTAI
) -> str:
    return token_headers(url, name, role, district)["Authorization"].removeprefix("Bearer ")


def _local_or_blank(route, base: str) -> None:
    if route.request.url.startswith(base):
        route.continue_()
    else:
        route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)


class Console:
    """The page in its own browser context, collecting script errors."""

    def __init__(self, browser, base: str, query: str = "", offline_tiles: bool = False) -> None:
        self.context = browser.new_context(
            viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        if offline_tiles:  # a basemap's tiles are answered here: no request leaves the machine
            self.page.route("**/*", lambda route: _local_or_blank(route, base))
        self.page.goto(f"{base}/console{query}")
        self.state("signin")

    def state(self, wanted: str) -> None:
        self.page.wait_for_function(
            f"() => document.body.dataset.state === '{wanted}'", timeout=20_000
        )

    def sign_in(self, token: str) -> None:
        self.page.fill("#token", token)
        self.page.click("#signin-form button[type=submit]")
        self.state("ready")

    def message(self) -> str:
        box = self.page.locator("#message")
        return box.inner_text() if box.is_visible() else ""

    def said(self, text: str) -> None:
        self.page.wait_for_function(
            "(t) => document.getElementById('message').textContent.includes(t)",
            arg=text,
            timeout=15_000,
        )

    def pick(self, name: str) -> None:
        self.page.fill("#q", name)
        self.page.locator("#places button", has_text=name).first.click()
        self.page.wait_for_function(
            "(n) => document.getElementById('place-title').textContent"
            " === n && document.body.dataset.place",
            arg=name,
        )

    def tab(self, name: str) -> None:
        self.page.click(f".tab[data-tab={name}]")

    def close(self) -> None:
        assert self.errors == []
        self.context.close()


def _station(url: str, name: str) -> dict:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT id, opening_hours, ST_X(geom), ST_Y(geom), status, closed_on FROM stations "
            "WHERE name = %s AND deleted_at IS NULL",
            (name,),
        ).fetchone()
    assert row is not None, name
    return {
        "id": row[0],
        "hours": row[1],
        "lon": row[2],
        "lat": row[3],
        "status": row[4],
        "closed_on": row[5],
    }


def _nearest_open_at_five(base: str, place: dict) -> str:
    params = {
        "lon": place["lon"],
        "lat": place["lat"],
        "open": "now",
        "at": "2026-12-08T05:00",
        "k": 1,
        "max_km": 5,
    }
    answer = httpx.get(f"{base}/locate", params=params, timeout=20).json()
    return answer["results"][0]["name"] if answer["results"] else ""


def test_sign_in_check_hours_as_typed_and_the_locator_answers_the_new_hours(
    browser, bundled_server, bundled_database_url
):
    place = _station(bundled_database_url, YONGCHANG)
    assert _nearest_open_at_five(bundled_server, place) != YONGCHANG  # opens at 07:00
    token = _token(bundled_database_url, "ft-hours")
    view = Console(browser, bundled_server)
    view.sign_in(token)
    page = view.page
    # the token is nowhere the page keeps things: not in its URL, storage, cookies or DOM
    kept = page.evaluate(
        "() => [location.href, JSON.stringify(localStorage),"
        " JSON.stringify(sessionStorage), document.cookie,"
        " document.documentElement.outerHTML].join(' ')"
    )
    assert token not in kept and "nx_session" not in page.evaluate("() => document.cookie")
    assert "ft-hours" in page.inner_text("#who")
    view.pick(YONGCHANG)
    page.fill("#p-hours", "Mo-Su 05:00-")
    page.wait_for_function("() => document.body.dataset.hours === 'invalid'")
    assert "not valid" in page.inner_text("#hours-check")
    page.fill("#p-hours", "Mo-Su 05:00-22:00; PH off")
    page.wait_for_function("() => document.body.dataset.hours === 'valid'")
    assert page.locator("#week tr").count() == 7
    assert "05:00–22:00" in page.inner_text("#week")
    page.click("#save")
    view.said("已保存")
    assert _station(bundled_database_url, YONGCHANG)["hours"] == "Mo-Su 05:00-22:00; PH off"
    assert _nearest_open_at_five(bundled_server, place) == YONGCHANG
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-places.png"))
    view.close()


def test_the_preview_marks_a_holiday_and_a_make_up_workday(
    browser, bundled_server, bundled_database_url
):
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-preview"))
    answer = view.page.evaluate(
        "async () => (await fetch('/console/hours', {method: 'POST', headers: {'Content-Type':"
        " 'application/json', 'X-CSRFToken': document.cookie.split('csrftoken=')[1]"
        ".split(';')[0]}, body: JSON.stringify({opening_hours: 'Mo-Fr 08:00-18:00; PH off',"
        " start: '2026-09-27', days: 14})})).json()"
    )
    types = {d["date"]: d["day_type"] for d in answer["days"]}
    assert types["2026-10-01"] == "holiday" and types["2026-09-30"] == "workday"
    assert "makeup_workday" in types.values()  # a 调休 Saturday or Sunday around National Day
    view.close()


def test_move_a_station_by_clicking_the_map(browser, bundled_server, bundled_database_url):
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-move"))
    name = "丰台区职工服务中心"
    before = _station(bundled_database_url, name)
    view.pick(name)
    page = view.page
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 40)
    moved = page.evaluate("() => window.nuanxin.state.moved")
    assert moved is not None
    page.click("#save")
    view.said("已保存")
    after = _station(bundled_database_url, name)
    assert after["lon"] == pytest.approx(moved["lon"], abs=1e-6)  # basemap none: WGS-84
    assert after["lat"] == pytest.approx(moved["lat"], abs=1e-6)
    assert 30 < abs(after["lon"] - before["lon"]) * 85_000 < 400  # ~60 px at z16 ≈ 100 m
    view.close()


def test_a_district_editor_sees_only_their_district_and_is_refused_outside_it(
    browser, bundled_server, bundled_database_url
):
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-outside"))
    page = view.page
    codes = page.evaluate("() => window.nuanxin.state.places.map((p) => p.boundary_code)")
    assert codes and all(code.startswith("110106") for code in codes)
    with psycopg.connect(bundled_database_url) as conn:
        fengtai = conn.execute(
            "SELECT count(*) FROM boundaries WHERE valid_to IS NULL AND level IN ('district',"
            " 'subdistrict') AND (code = %s OR parent_code = %s)", (FENGTAI, FENGTAI)
        ).fetchone()[0]  # fmt: skip
    assert fengtai > 1 and page.evaluate("() => document.body.dataset.areas") == str(fengtai)
    assert page.locator("#editors-tab").is_hidden()  # admins only: never offered
    name = "丰台区职工服务中心"
    before = _station(bundled_database_url, name)
    view.pick(name)
    assert page.locator("[data-revert]").count() == 0  # revert is an admin's
    # the page allows any click; the API refuses a place outside the district, with its reason
    page.evaluate("() => { window.nuanxin.map.setView([39.93, 116.48], 14, {animate: false}); }")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.click("#save")
    view.said("outside your district")
    after = _station(bundled_database_url, name)
    assert (after["lon"], after["lat"]) == (before["lon"], before["lat"])
    view.close()


def test_a_write_without_the_csrf_token_is_refused(browser, bundled_server, bundled_database_url):
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-csrf"))
    place = _station(bundled_database_url, YONGCHANG)
    status = view.page.evaluate(
        "async (id) => { const r = await fetch(`/stations/${id}`, {method: 'PATCH',"
        " headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: 'x'})});"
        " return [r.status, (await r.json()).code]; }",
        place["id"],
    )
    assert status == [403, "csrf_failed"]
    assert _station(bundled_database_url, YONGCHANG)["id"] == place["id"]  # name unchanged
    view.close()


def test_an_expired_session_goes_back_to_sign_in(browser, bundled_server, bundled_database_url):
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-expiry"))
    with psycopg.connect(bundled_database_url) as conn:  # past the absolute limit (12 h)
        conn.execute(
            "UPDATE console_sessions SET created_at = now() - interval '13 hours' "
            "FROM api_tokens AS t WHERE t.id = token_id AND t.name = 'ft-expiry'"
        )
    view.page.check("#f-stale")  # any request now
    view.state("signin")
    assert "会话已过期" in view.message()
    assert view.page.locator("#work").is_hidden()
    view.close()


def test_accept_a_worker_report_in_the_queue_with_its_promise(
    browser, bundled_server, bundled_database_url
):
    place = _station(bundled_database_url, YONGCHANG)
    report = httpx.post(
        f"{bundled_server}/stations/{place['id']}/reports",
        json={"kind": "locked", "note": "门锁着，电话没人接"},
        timeout=10,
    )
    assert report.status_code == 202, report.text
    with psycopg.connect(bundled_database_url) as conn:  # an older one, past the 48 h promise
        conn.execute(
            "INSERT INTO reports (station_id, kind, client_hash, created_at) VALUES "
            "(%s, 'no_toilet', 'old', now() - interval '3 days')",
            (place["id"],),
        )
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-reports"))
    page = view.page
    view.tab("reports")
    assert "48" in page.inner_text("#promise")
    items = page.locator("#reports li")
    assert items.count() == 2
    assert page.locator("#reports li.overdue").count() == 1
    assert "无厕所" in page.inner_text("#reports li.overdue")
    fresh = page.locator("#reports li", has_text="门锁着")
    assert "锁门" in fresh.inner_text()
    assert page.locator("#service tr").count() == 1  # their district only
    fresh.get_by_role("button", name="采纳").click()
    view.said("已采纳")
    page.wait_for_function("() => document.querySelectorAll('#reports li').length === 1")
    with psycopg.connect(bundled_database_url) as conn:
        status = conn.execute(
            "SELECT status, moderated_by FROM reports WHERE id = %s", (report.json()["id"],)
        ).fetchone()
    assert status == ("accepted", "ft-reports")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-reports.png"))
    view.close()


def test_an_admin_reverts_an_edit_and_manages_editors(
    browser, bundled_server, bundled_database_url
):
    view = Console(browser, bundled_server, "?lang=en")
    view.sign_in(_token(bundled_database_url, "root-console", "admin", None))
    page = view.page
    name = "丰台区职工服务中心"
    view.pick(name)
    page.fill("#p-name", "临时改名")
    page.click("#save")
    view.said("Saved")
    page.wait_for_function(
        "() => document.getElementById('history').textContent.includes('临时改名')"
    )
    page.locator("[data-revert]").first.click()
    view.said("Reverted")
    with psycopg.connect(bundled_database_url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM stations WHERE name IN (%s, %s)", (name, "临时改名")
            )
        ]
    assert names == [name]
    view.tab("editors")
    page.fill("#ed-name", "xicheng-console")
    page.fill("#ed-district", "110102000000")
    page.click("#add-editor button[type=submit]")
    page.wait_for_selector("#new-token:not([hidden])")
    token = page.inner_text("#new-token").split()[-1]
    assert token.startswith("nx_")
    row = page.locator("#editors tr", has_text="xicheng-console")
    assert "110102000000" in row.inner_text()
    row.locator("[data-revoke]").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#editors tr')].some((r) =>"
        " r.textContent.includes('xicheng-console') &&"
        " r.textContent.includes('Revoked'))"
    )
    revoked = httpx.get(
        f"{bundled_server}/console/places", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert revoked.status_code == 401
    assert (
        page.locator("#editors tr", has_text="root-console").locator("[data-revoke]").count() == 0
    )
    view.close()


def test_upload_with_bad_rows_then_fix_the_mapping_and_commit(
    browser, bundled_server, bundled_database_url, tmp_path
):
    rows = [
        ("u1", "大红门暖心驿站（上传）", "丰台区示意路1号", "39.8400", "116.4000", "wgs84", "x"),
        ("u2", "方庄暖心驿站（上传）", "丰台区示意路2号", "39.8650", "116.4300", "wgs84", "y"),
        ("u3", "坏坐标驿站（上传）", "丰台区示意路3号", "139.0", "116.4100", "wgs84", "z"),
    ]
    path = tmp_path / "union-list.csv"
    lines = ["id,驿站名称,address,lat,lng,coord_system,备注说明"]
    lines += [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-upload"))
    page = view.page
    view.tab("upload")
    page.set_input_files("#up-file", str(path))
    page.wait_for_function("() => document.querySelectorAll('#mapping tr').length === 7")
    page.click("#dry-run")
    page.wait_for_function("() => ['checked', 'failed'].includes(document.body.dataset.upload)")
    result = page.inner_text("#upload-result")
    assert page.locator("#commit").is_disabled()  # nothing could be written
    assert result.count("kind: Field required") == 3 or "备注说明" in view.message() + result
    # fix it in the page: a default kind, the unknown column ignored, then check again
    page.select_option("#up-kind", "rest_point")
    page.locator("#mapping tr", has=page.locator("input[value='备注说明']")).locator(
        "select"
    ).select_option("-")
    page.fill("#up-source", "fengtai-union-list")
    page.click("#dry-run")
    page.wait_for_function(
        "() => document.body.dataset.upload === 'checked'"
        " && !document.getElementById('commit').disabled"
    )
    result = page.inner_text("#upload-result")
    assert "将新增 2" in result and "1 行被拒绝" in result
    assert "4" in page.inner_text(".rejected tbody tr")  # line 4 of the file, the bad latitude
    with psycopg.connect(bundled_database_url) as conn:
        count = "SELECT count(*) FROM stations WHERE source = 'fengtai-union-list'"
        assert conn.execute(count).fetchone()[0] == 0  # a dry run writes nothing
        page.click("#commit")
        page.wait_for_function("() => document.body.dataset.upload === 'done'")
        assert "已新增 2" in page.inner_text("#upload-result")
        assert conn.execute(count).fetchone()[0] == 2
        kinds = {
            r[0]
            for r in conn.execute("SELECT kind FROM stations WHERE source = 'fengtai-union-list'")
        }
    assert kinds == {"rest_point"}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-upload.png"))
    view.close()


def test_record_how_to_get_in_and_the_locator_and_widget_show_it_and_filter(
    browser, bundled_server, bundled_database_url
):
    """Can I get in? The console records a sign-up lock; the worker's page shows it next to the
    hours and "no registration needed" leaves the place out; the widget's popup says it too."""
    place = _station(bundled_database_url, YONGCHANG)  # bundled: an open door
    view = Console(browser, bundled_server)
    view.sign_in(_token(bundled_database_url, "ft-access"))
    page = view.page
    view.pick(YONGCHANG)
    assert page.is_checked('#p-access input[value="open_door"]')
    page.uncheck('#p-access input[value="open_door"]')
    page.check('#p-access input[value="face_registration"]')
    page.fill("#p-access-condition", "仅限已登记的快递外卖骑手")
    page.click("#save")
    view.said("已保存")
    with psycopg.connect(bundled_database_url) as conn:
        stored = conn.execute(
            "SELECT access, access_condition FROM stations WHERE id = %s", (place["id"],)
        ).fetchone()
    assert stored == (["face_registration"], "仅限已登记的快递外卖骑手")
    view.close()

    here = {"longitude": place["lon"] + 0.0005, "latitude": place["lat"]}
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                  geolocation=here, permissions=["geolocation"])  # fmt: skip
    worker = context.new_page()
    errors: list[str] = []
    worker.on("pageerror", lambda e: errors.append(str(e)))
    worker.goto(f"{bundled_server}/?at=2026-12-09T10:00&open=any&k=3")
    worker.wait_for_function("() => document.body.dataset.state === 'ready'", timeout=20_000)
    first = worker.locator("#place-1")
    assert first.locator("h2").inner_text() == YONGCHANG
    assert "进入方式: 人脸识别（需登记） · 仅限已登记的快递外卖骑手" in first.inner_text()
    assert first.locator(".access.restricted").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    worker.screenshot(path=str(ARTIFACTS / "locator-access.png"))
    worker.locator('#needs [data-walkin="1"]').click()
    worker.wait_for_function(
        "(n) => document.body.dataset.state === 'ready' && ![...document.querySelectorAll("
        "'#results h2')].some((h) => h.textContent === n)", arg=YONGCHANG, timeout=20_000
    )  # fmt: skip
    assert "walk_in=1" in worker.url
    assert worker.locator("#results .place").count() == 3  # three others anyone may enter
    assert worker.locator("#results .access.restricted").count() == 0

    worker.goto(f"{bundled_server}/embed?lat={place['lat']}&lon={place['lon']}&zoom=16")
    worker.wait_for_function("() => document.body.dataset.state === 'ready'", timeout=20_000)
    popup = worker.evaluate(
        """(at) => { let text = null; window.nuanxin.map.eachLayer((l) => {
             if (l.getPopup && l.getPopup() && l.getLatLng
                 && Math.abs(l.getLatLng().lat - at[1]) < 1e-5
                 && Math.abs(l.getLatLng().lng - at[0]) < 1e-5) {
               l.openPopup(); text = document.querySelector('.leaflet-popup-content').innerText;
             } }); return text; }""",
        [place["lon"], place["lat"]],
    )
    assert popup is not None and YONGCHANG in popup
    assert "进入方式: 人脸识别（需登记） · 仅限已登记的快递外卖骑手" in popup
    assert errors == []
    context.close()


def test_drag_the_marker_on_a_gcj02_basemap_and_wgs84_is_stored(browser, bundled_database_url):
    """On Amap's tiles the pin stands at the place's GCJ-02 position; after a drag the page
    sends GCJ-02 and the database keeps WGS-84 (converted once, at the edge)."""
    settings = Settings(environment="test", database_url=bundled_database_url, basemaps="amap")
    before = _station(bundled_database_url, YONGCHANG)
    with served(settings) as base:
        view = Console(browser, base, "?basemap=amap", offline_tiles=True)
        view.sign_in(_token(bundled_database_url, "ft-drag"))
        view.pick(YONGCHANG)
        page = view.page
        shown = page.evaluate(
            "() => { const p = window.nuanxin.map.getCenter(); return [p.lng, p.lat]; }"
        )
        assert shown == pytest.approx(wgs84_to_gcj02(before["lon"], before["lat"]), abs=1e-6)
        icon = page.locator(".leaflet-marker-icon.leaflet-marker-draggable").bounding_box()
        x, y = icon["x"] + icon["width"] / 2, icon["y"] + icon["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(x + 8 * step, y + 5 * step)
        page.mouse.up()
        moved = page.evaluate("() => window.nuanxin.state.moved")
        assert moved is not None and moved["lon"] > shown[0]
        assert "(gcj02)" in page.inner_text("#p-position")
        page.click("#save")
        view.said("已保存")
        after = _station(bundled_database_url, YONGCHANG)
        expected = gcj02_to_wgs84(moved["lon"], moved["lat"])
        assert (after["lon"], after["lat"]) == pytest.approx(expected, abs=1e-6)
        assert 50 < (after["lon"] - before["lon"]) * 85_000 < 400  # 80 px east at z16
        view.close()


def test_on_a_tablet_the_list_map_and_form_stack_without_sideways_scrolling(
    browser, bundled_server, bundled_database_url
):
    view = Console(browser, bundled_server)
    view.page.set_viewport_size({"width": 800, "height": 1100})
    view.sign_in(_token(bundled_database_url, "ft-tablet"))
    view.pick(YONGCHANG)
    page = view.page
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 800
    listed, pictured, form = (page.locator(p).bounding_box() for p in ("#places", "#map", "#place"))
    assert listed["width"] >= 250 and pictured["width"] >= 400  # side by side
    assert listed["x"] + listed["width"] <= pictured["x"] + 1 and pictured["height"] >= 400
    assert form["y"] >= pictured["y"] + pictured["height"] - 1 and form["width"] >= 700  # below
    assert page.locator("#map").is_visible() and pictured["y"] < 1100  # on the first screen
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-tablet.png"), full_page=True)
    view.close()
