"""The national planner (``/plan/national``) in a real browser, on stored national runs.

Beijing, Tianjin and Hebei are computed from the real 2020 census (H3 resolution 8, illustrative
stations) and stored as ``--store`` stores them. The page is held to the API and to the run
itself: every province's and county's share on the page is the computed one, a province's
click opens its counties, the proposed sites are the siting run's in rank order, and the
exported table is the API's CSV.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser import ARTIFACTS
from tests.geo.national.conftest import needs_census
from tests.national_runs import bth_runs, stored

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = needs_census

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def runs():
    return bth_runs()


@pytest.fixture(scope="module")
def ids(engine, runs):
    with stored(engine, runs) as found:
        yield found


class National:
    """The page in its own context, collecting console errors and failed requests."""

    def __init__(self, browser, base: str, query: str = "", lang: str = "zh-CN") -> None:
        self.context = browser.new_context(viewport=LAPTOP, locale=lang, accept_downloads=True)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else 0)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed {r.url}"))
        self.page.goto(f"{base}/plan/national{query}")
        self.settled()

    def settled(self) -> str:
        self.page.wait_for_function(
            "() => ['ready', 'empty', 'error'].includes(document.body.dataset.state)",
            timeout=30_000,
        )
        return str(self.page.evaluate("() => document.body.dataset.state"))

    def wait_ready(self) -> None:
        self.page.wait_for_function("() => document.body.dataset.state === 'loading'"
                                    " || document.body.dataset.state === 'ready'")  # fmt: skip
        assert self.settled() == "ready", self.page.locator("#message").inner_text()

    def ranking(self) -> list[dict[str, str]]:
        return self.page.evaluate(
            """() => [...document.querySelectorAll('#ranking tbody tr')].map((tr) =>
                 Object.fromEntries([['code', tr.dataset.code], ...[...tr.cells].map(
                   (td) => [td.dataset.col, td.textContent])]))"""
        )

    def close(self) -> None:
        assert self.problems == [], self.problems
        self.context.close()


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def test_without_a_stored_run_the_page_says_how_to_make_one(browser, base, engine):
    with engine.connect() as conn:
        stored_runs = conn.exec_driver_sql("SELECT count(*) FROM national_runs").scalar_one()
    assert stored_runs == 0, "the empty case runs first, before this module stores its runs"
    page = National(browser, base)
    try:
        assert page.settled() == "empty"
        assert "nuanxin coverage --scope national" in page.page.locator("#message").inner_text()
    finally:
        page.close()


def test_provinces_ranked_as_computed_then_a_click_opens_its_counties(browser, base, ids, runs):
    run_id, siting_id = ids
    page = National(browser, base)
    try:
        assert page.page.title() == "暖心驿站 · 全国规划"
        url = page.page.url
        assert f"run={run_id}" in url and f"siting={siting_id}" in url  # the latest of each
        provinces = runs.coverage.provinces
        shown = page.ranking()
        assert [r["code"] for r in shown] == list(provinces["code"])  # ranked 1, 2, 3
        for row, expected in zip(shown, provinces.itertuples(), strict=True):
            assert row["share_within_walk"] == _pct(expected.share_within_walk)
            assert row["residents"].replace(",", "") == f"{expected.residents:.0f}"
        summary = page.page.locator("#summary dd").first.get_attribute("data-value")
        assert float(summary or 0) == pytest.approx(provinces["residents"].sum())
        # Every province drawn in its class's colour (the report map's palette).
        colours = page.page.evaluate(
            """() => { const out = {};
                 window.nuanxin.layers.areas.eachLayer((l) =>
                   { out[l.feature.properties.code] = l.options.fillColor; });
                 return out; }"""
        )
        assert set(colours) == {"11", "12", "13"}
        assert len(set(colours.values())) >= 2  # Hebei (4.5 %) is not Tianjin's class (21 %)

        ARTIFACTS.mkdir(exist_ok=True)
        page.page.screenshot(path=str(ARTIFACTS / "national-provinces.png"))

        # A real click on Hebei's outline on the map opens its counties, ranked.
        point = page.page.evaluate(
            """() => { const { map, layers } = window.nuanxin; let at = null;
                 layers.areas.eachLayer((l) => { if (l.feature.properties.code === '13')
                   at = map.latLngToContainerPoint(L.latLng(38.0, 115.5)); });
                 const box = map.getContainer().getBoundingClientRect();
                 return [box.left + at.x, box.top + at.y]; }"""
        )
        page.page.mouse.click(*point)
        page.wait_ready()
        assert "level=county" in page.page.url and "province=13" in page.page.url
        counties = runs.coverage.counties
        hebei = counties[counties["province"] == "13"]
        shown = page.ranking()
        assert len(shown) == len(hebei)
        ranked = hebei[hebei["rank"].notna()].sort_values("rank")
        assert [r["code"] for r in shown[: len(ranked)]] == list(ranked["code"])
        by_code = hebei.set_index("code")
        for row in shown:
            assert row["share_within_walk"].startswith(
                _pct(by_code.loc[row["code"], "share_within_walk"]))  # fmt: skip
        assert all(row["province"] == "河北省" for row in shown)
        note = page.page.locator("#unranked").inner_text()
        assert f"全部 {len(counties)} 个区县中的名次" in note  # ranks are the run's, not Hebei's

        # The sites shown are the siting run's in Hebei, in rank order.
        sites = runs.siting.sites
        in_hebei = sites[sites["province"] == "13"]
        assert page.page.evaluate("() => document.body.dataset.sites") == str(len(in_hebei))
        ranks = page.page.locator("#sites tbody tr").evaluate_all(
            "(rows) => rows.map((tr) => Number(tr.dataset.rank))")  # fmt: skip
        assert ranks == list(in_hebei["rank"])[:200]
        summary = page.page.locator("#siting-summary").inner_text()
        assert f"{len(sites)} 处新站点" in summary and "已证明" in summary
        page.page.screenshot(path=str(ARTIFACTS / "national-hebei.png"))

        # Back to provinces: every province, so no province filter on the sites either.
        page.page.click("[data-level=province]")
        page.wait_ready()
        assert "province=" not in page.page.url and len(page.ranking()) == 3
        assert page.page.evaluate("() => document.body.dataset.sites") == str(len(sites))
    finally:
        page.close()


def test_the_exported_table_is_the_apis_csv_and_a_link_restores_the_view(browser, base, ids, runs):
    run_id, siting_id = ids
    query = f"?lang=en&run={run_id}&level=county&province=11&siting={siting_id}"
    page = National(browser, base, query, lang="en")
    try:
        assert page.page.title() == "Nuanxin · national planner"
        assert page.page.locator("#province").input_value() == "11"
        assert page.page.locator("[data-level=county]").get_attribute("aria-pressed") == "true"
        with page.page.expect_download() as download:
            page.page.click("#export-csv")
        saved = download.value.path().read_bytes().decode("utf-8")
        query = {"run": run_id, "level": "county", "province": "11", "f": "csv"}
        api = httpx.get(f"{base}/coverage/national", params=query)
        assert saved == api.text
        rows = list(csv.DictReader(io.StringIO(saved)))
        assert len(rows) == 16 and {r["code"] for r in rows} == {r["code"] for r in page.ranking()}

        for link in ("#export-csv", "#export-geojson", "#export-sites"):  # files are WGS-84
            assert "coords=" not in page.page.locator(link).get_attribute("href"), link
        with page.page.expect_download() as download:
            page.page.click("#export-sites")
        sites = list(
            csv.DictReader(io.StringIO(download.value.path().read_bytes().decode("utf-8")))
        )
        beijing = runs.siting.sites[runs.siting.sites["province"] == "11"]
        assert [int(s["rank"]) for s in sites] == list(beijing["rank"])

        # Sorting by residents beyond a walk (most first, a figure's first click) and back.
        page.page.click("#ranking th button[data-sort=uncovered_residents]")
        header = page.page.locator("#ranking th[aria-sort=descending] button")
        assert header.get_attribute("data-sort") == "uncovered_residents"
        counties = runs.coverage.counties
        top = counties[counties["province"] == "11"].nlargest(1, "uncovered_residents")
        assert page.ranking()[0]["code"] == top["code"].iloc[0]
        page.page.click("#ranking th button[data-sort=uncovered_residents]")
        least = counties[counties["province"] == "11"].nsmallest(1, "uncovered_residents")
        assert page.ranking()[0]["code"] == least["code"].iloc[0]

        # Switching the siting off takes its sites off the map and out of the link.
        page.page.select_option("#siting", "")
        page.wait_ready()
        assert page.page.evaluate("() => document.body.dataset.sites") == "0"
        assert "siting=&" in page.page.url or page.page.url.endswith("siting=")
    finally:
        page.close()


def test_the_workbench_links_to_the_national_planner(browser, base, ids):
    page = National(browser, base)
    try:
        # The planner rewrites its query on load (`/plan?…`), so the path alone is compared:
        # a glob on the whole URL raced that rewrite.
        page.page.click("#to-district")
        page.page.wait_for_url(lambda url: urlsplit(url).path.endswith("/plan"))
        page.page.click("#to-national")
        page.page.wait_for_url(lambda url: urlsplit(url).path.endswith("/plan/national"))
        assert page.settled() == "ready"
    finally:
        page.close()
