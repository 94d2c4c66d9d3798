"""Planner report maps: rendered to HTML and read back (layers, legend, points, popups), one
opened in Debian Chromium, and ``nuanxin map`` run against a database of its own."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import geopandas
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from cli.main import app
from geo.config import PROJECT_ROOT, get_settings
from geo.coverage.analysis import analyse
from maps.report import coverage_map, report_html, write_html

DATA = PROJECT_ROOT / "data"
FENGTAI = "110106000000"
LUGOUQIAO = "110106017000"
KIND_LAYERS = {"service_centre": "职工服务中心", "subdistrict_station": "街道/乡镇工会服务站",
               "enterprise_centre": "企业职工服务中心", "rest_point": "暖心驿站",
               "water_point": "免费饮水点", "sanitation_care_point": "环卫工人爱心服务点",
               "counselling_point": "心灵驿站"}  # fmt: skip


def overlays(page: str) -> dict[str, str]:
    """The layer control's overlays: name → the script variable of the layer."""
    control = re.search(r"overlays :\s*\{(.*?)\},\s*\};", page, re.S)
    assert control, "no layer control"
    pairs = re.findall(r'"([^"]+)" : (geo_json_\w+),', control.group(1))
    return {json.loads(f'"{name}"'): variable for name, variable in pairs}


def layers(page: str) -> dict[str, dict]:
    """Each overlay in the layer control, by its name, with the GeoJSON embedded for it."""
    data = dict(re.findall(r"^\s*(geo_json_\w+)_add\((\{.*\})\);$", page, re.M))
    return {name: json.loads(data[variable]) for name, variable in overlays(page).items()}


def by_prefix(found: dict[str, dict], prefix: str) -> tuple[str, dict]:
    matches = [(name, data) for name, data in found.items() if name.startswith(prefix)]
    assert len(matches) == 1, (prefix, list(found))
    return matches[0]


@pytest.fixture(scope="module")
def fengtai():
    """Fengtai's subdistricts, its stations (all statuses) plus one far off, and the analysis."""
    boundaries = geopandas.read_file(DATA / "boundaries" / "subdistricts.geojson")
    boundaries = boundaries[boundaries.parent_code == FENGTAI].reset_index(drop=True)
    stations = geopandas.read_file(DATA / "stations" / "stations.geojson")
    stations = stations[stations.external_id.str.startswith("ft-")]
    far = geopandas.GeoDataFrame({"kind": ["water_point"], "status": ["open"], "name": ["天津"]},
                                 geometry=[shapely.Point(117.2, 39.1)], crs=4326)  # fmt: skip
    stations = pd.concat([stations, far], ignore_index=True)
    result = analyse(boundaries, stations[stations.status == "open"])
    proposals = pd.DataFrame({
        "rank": [2, 1, 3], "lon": [116.25, 116.2, 116.3], "lat": [39.85, 39.86, 39.83],
        "code": [LUGOUQIAO] * 3, "boundary_name": ["卢沟桥街道"] * 3,
        "gain_residents": [9000.0, 12345.6, 4000.0], "gain_workers": [10.0, 20.0, 0.0],
        "nearest_existing_m": [1500.0, 2100.0, 1300.0],
    })  # fmt: skip
    figure = coverage_map(result, boundaries, stations, proposals=proposals, title="丰台区覆盖")
    return boundaries, stations, result, report_html(figure)


def test_layers_hold_every_open_station_by_kind_and_leave_far_ones_out(fengtai):
    _, stations, _, page = fengtai
    found = layers(page)
    ours = stations[stations.external_id.notna()]  # without the one near Tianjin
    open_counts = ours[ours.status == "open"].groupby("kind").size()
    for kind, count in open_counts.items():
        name, data = by_prefix(found, KIND_LAYERS[kind])
        assert len(data["features"]) == count and name.endswith(f"({count})")
        names = {f["properties"]["name"] for f in data["features"]}
        assert names == set(ours[(ours.status == "open") & (ours.kind == kind)].name)
    drawn = [f["properties"].get("name") for data in found.values() for f in data["features"]]
    assert "天津" not in drawn and len(drawn) > len(ours) / 2
    assert set(found) >= {"步行可达居民比例", "步行范围外（缺口）"}
    # One circle-marker factory per layer, not one marker object per station.
    assert page.count("new L.CircleMarker(") <= len(found)
    assert "L.marker(" not in page


def test_planned_stations_are_drawn_hollow_and_closed_ones_hidden(fengtai):
    _, stations, _, page = fengtai
    found = layers(page)
    _, planned = by_prefix(found, "规划中 / 建设中站点")
    expected = stations[stations.status.isin(["planned", "under_construction"])]
    assert len(planned["features"]) == len(expected) >= 2
    styles = {f["properties"]["status"]: f["properties"]["style"] for f in planned["features"]}
    assert styles["规划中"]["fillOpacity"] == 0 and styles["规划中"]["dashArray"]
    assert 0 < styles["建设中"]["fillOpacity"] < 0.9  # open stations are filled at 0.9
    name, closed = by_prefix(found, "暂停开放 / 已关闭站点")
    assert len(closed["features"]) == stations.status.isin(["closed", "temporarily_closed"]).sum()
    variable = overlays(page)[name]
    assert f"{variable}.addTo(" not in page  # in the control, off at first
    assert f"{overlays(page)[by_prefix(found, '暖心驿站')[0]]}.addTo(" in page


def test_legend_classes_match_the_colour_of_every_subdistrict(fengtai):
    boundaries, _, result, page = fengtai
    legend = re.search(r'<div class="nx-legend">(.*?)</div></div>', page, re.S)
    assert legend and "步行15分钟可达居民比例" in legend.group(1)
    classes = re.findall(r'class="class" style="background:(#\w+)"></i>(\d+)%–(\d+)%', page)
    assert len(classes) == 5
    ranges = {colour: (int(low) / 100, int(high) / 100) for colour, low, high in classes}
    _, coverage = by_prefix(layers(page), "步行可达居民比例")
    assert len(coverage["features"]) == len(boundaries)
    shares = result.per_boundary.set_index("code")["share_within_walk"]
    colours = set()
    for feature in coverage["features"]:
        colour = feature["properties"]["style"]["fillColor"]
        low, high = ranges[colour]
        assert low <= shares[feature["properties"]["code"]] <= high + 1e-9
        colours.add(colour)
    assert len(colours) >= 2  # the map is not one flat colour
    assert "暖心驿站" in legend.group(1) and "规划中" in legend.group(1)


def test_popups_carry_the_figures_as_the_table_prints_them(fengtai):
    boundaries, _, result, page = fengtai
    row = result.per_boundary.set_index("code").loc[LUGOUQIAO]
    _, coverage = by_prefix(layers(page), "步行可达居民比例")
    popup = next(f["properties"]["popup"] for f in coverage["features"]
                 if f["properties"]["code"] == LUGOUQIAO)  # fmt: skip
    assert "卢沟桥街道" in popup
    assert f"<td>步行15分钟可达居民</td><td>{row.share_within_walk:.0%}</td>" in popup
    assert f"<td>居民</td><td>{row.residents:,.0f}</td>" in popup
    assert f"<td>欠服务排名</td><td>{row['rank']} / {len(boundaries)}</td>" in popup
    _, gaps = by_prefix(layers(page), "步行范围外（缺口）")
    gap = next(f for f in gaps["features"] if f["properties"]["code"] == LUGOUQIAO)
    beyond = result.gaps.set_index("code").loc[LUGOUQIAO, "residents_beyond_walk"]
    assert f"{beyond:,.0f}" in gap["properties"]["popup"]


def test_proposals_are_numbered_by_rank_with_their_gains(fengtai):
    _, _, _, page = fengtai
    name, sites = by_prefix(layers(page), "建议新增站点")
    assert name == "建议新增站点 (3)"
    ranks = [f["properties"]["rank"] for f in sites["features"]]
    assert ranks == [1, 2, 3]
    first = sites["features"][0]
    assert first["geometry"]["coordinates"] == [116.2, 39.86]
    assert "12,346" in first["properties"]["popup"] and "2,100" in first["properties"]["popup"]
    assert "permanent: true" in page  # the rank is drawn on the map, not only in the popup


def test_no_tiles_unless_asked_and_coordinates_rounded(fengtai):
    boundaries, _, result, page = fengtai
    assert "L.tileLayer" not in page and "openstreetmap" not in page
    assert not re.search(r"\d+\.\d{7,}", page)  # 6 decimals at most, everywhere
    online = report_html(coverage_map(result, boundaries.head(2), None,
                                      tiles="https://tile.example.org/{z}/{x}/{y}.png",
                                      tiles_attr="© example"))  # fmt: skip
    assert "L.tileLayer" in online and "tile.example.org" in online


def test_only_leaflet_is_referenced_and_inline_needs_no_network(fengtai, tmp_path):
    boundaries, stations, result, page = fengtai
    remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page)
    assert remote and all("leaflet@1.9.4" in url for url in remote), remote
    figure = coverage_map(result, boundaries, stations, inline=True)
    path = write_html(figure, tmp_path / "offline.html")
    offline = path.read_text(encoding="utf-8")
    assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="https?:', offline)
    assert "Leaflet 1.9.4" in offline and "url(images/layers" not in offline
    assert len(offline) > len(page)


def test_file_grows_by_tens_of_bytes_per_station(fengtai):
    boundaries, _, result, _ = fengtai
    west, south, east, north = boundaries.total_bounds
    sizes = []
    for count in (1000, 5000):
        points = shapely.points(
            pd.Series(range(count)).mul(0.618034).mod(1).mul(east - west).add(west),
            pd.Series(range(count)).mul(0.414214).mod(1).mul(north - south).add(south),
        )
        frame = geopandas.GeoDataFrame({"kind": "water_point", "status": "open",
                                        "name": [f"饮水点{i}" for i in range(count)]},
                                       geometry=points, crs=4326)  # fmt: skip
        page = report_html(coverage_map(result, boundaries, frame))
        _, water = by_prefix(layers(page), "免费饮水点")
        assert len(water["features"]) == count
        sizes.append(len(page.encode()))
    per_point = (sizes[1] - sizes[0]) / 4000
    assert per_point < 200, per_point  # one folium.Marker each: about 850


def test_report_opens_offline_in_chromium_without_errors(fengtai, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    boundaries, stations, result, _ = fengtai
    proposals = pd.DataFrame({"rank": [1, 2], "lon": [116.2, 116.25], "lat": [39.86, 39.85]})
    path = write_html(coverage_map(result, boundaries, stations, proposals=proposals,
                                   inline=True), tmp_path / "report.html")  # fmt: skip
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                else problems.append(f"request {r.url}"))  # fmt: skip
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-control-layers-overlays label")
        labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        assert any("暖心驿站" in label for label in labels)
        assert page.locator("canvas").count() == 1  # every point on one canvas
        assert page.locator(".leaflet-marker-icon").count() == 0
        assert page.locator(".nx-rank").all_inner_texts() == ["1", "2"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-map.png"))
        browser.close()
    assert problems == []


def test_map_command_writes_html_and_png_with_proposals(scratch_database_url, tmp_path,
                                                        monkeypatch):  # fmt: skip
    import cli.report_map  # noqa: F401  registers ``map`` (cli/main.py imports it too)
    from tests.cli.test_main import run

    run("db", "upgrade", url=scratch_database_url)
    run("load", url=scratch_database_url)
    monkeypatch.setenv("NUANXIN_DATABASE_URL", scratch_database_url)
    get_settings.cache_clear()
    try:
        html_path, png_path = tmp_path / "out" / "report.html", tmp_path / "report.png"
        result = CliRunner().invoke(app, ["map", "--boundary", FENGTAI, "--with-sites", "2",
                                          "--at", "2026-11-29T05:00", "--out", str(html_path),
                                          "--png", str(png_path)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"written: {html_path}" in result.output and f"written: {png_path}" in result.output
        page = html_path.read_text(encoding="utf-8")
        _, sites = by_prefix(layers(page), "建议新增站点")
        assert [f["properties"]["rank"] for f in sites["features"]] == [1, 2]
        assert "卢沟桥街道" in sites["features"][0]["properties"]["popup"]
        assert "2026-11-29 05:00" in page
        assert png_path.stat().st_size > 20_000
        bad = CliRunner().invoke(app, ["map", "--out", str(tmp_path / "x.txt")])
        assert bad.exit_code == 1 and "--out takes an .html file" in bad.stderr
    finally:
        get_settings.cache_clear()


def test_registering_the_command_does_not_load_folium():
    """``nuanxin`` imports cli.report_map at start; folium must wait until ``map`` runs."""
    code = "import sys, cli.main, cli.report_map; print('folium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PROJECT_ROOT)  # fmt: skip
    assert out.stdout.strip() == "False"
