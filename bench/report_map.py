"""Report-map benchmark: HTML size (raw and gzipped) and render time for 20,000 stations.

Points: seeded, uniform inside the bundled 东城/丰台 subdistricts (``data/boundaries``), kinds
drawn with the bundled data's mix, 2 % planned or under construction. The choropleth and gaps
come from the bundled stations' coverage, analysed once beforehand and not timed.

* **ours**: :func:`maps.report.coverage_map` (one ``L.geoJson`` of circle markers per layer,
  6-decimal coordinates, popups built on click) then the HTML rendered.
* **baseline, same run, same points**: the same map without stations, plus one
  ``folium.Marker`` with a ``folium.Popup`` per point (grouped by kind), as a first folium
  script would do it.

Render time = building the folium objects + rendering the page to a string, median of
``--repeats``. With ``--browser``, also the time Debian Chromium takes to open each file
(inline Leaflet, no network) until the layer control is drawn. Sizes are without inlined
Leaflet (the CDN page a planner opens online); ``inline=True`` adds the same ~160 KB to both.

Run: ``.venv/bin/python -m bench.report_map [--points 20000] [--baseline-points 20000]``
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import folium
import geopandas
import numpy as np
import shapely
from branca.element import Element

from geo.config import PROJECT_ROOT
from geo.coverage.analysis import CoverageResult, analyse
from maps.report import coverage_map, report_html

DATA = PROJECT_ROOT / "data"
JQUERY_STANDIN = """<script>window.$ = function (markup) {
  var box = document.createElement("div"); box.innerHTML = markup; return [box.firstChild];
};</script>"""


def synthetic_stations(boundaries: geopandas.GeoDataFrame, count: int,
                       seed: int = 20261122) -> geopandas.GeoDataFrame:  # fmt: skip
    """``count`` seeded points inside ``boundaries`` with the bundled mix of kinds."""
    rng = np.random.default_rng(seed)
    area = shapely.union_all(boundaries.geometry.to_numpy())
    shapely.prepare(area)
    west, south, east, north = area.bounds
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < count:
        x = rng.uniform(west, east, count * 2)
        y = rng.uniform(south, north, count * 2)
        inside = shapely.contains_xy(area, x, y)
        lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
    mix = geopandas.read_file(DATA / "stations" / "stations.geojson")["kind"].value_counts()
    kinds = rng.choice(mix.index.to_numpy(), size=count, p=(mix / mix.sum()).to_numpy())
    status = np.where(rng.random(count) < 0.02,
                      rng.choice(["planned", "under_construction"], count), "open")  # fmt: skip
    names = [f"示意站点{i:05d}" for i in range(count)]
    points = shapely.points(lon[:count], lat[:count])
    return geopandas.GeoDataFrame({"kind": kinds, "status": status, "name": names},
                                  geometry=points, crs=4326)  # fmt: skip


def ours(result: CoverageResult, boundaries: geopandas.GeoDataFrame,
         stations: geopandas.GeoDataFrame) -> str:  # fmt: skip
    return report_html(coverage_map(result, boundaries, stations))


def naive(result: CoverageResult, boundaries: geopandas.GeoDataFrame,
          stations: geopandas.GeoDataFrame, *, inline: bool = False) -> str:  # fmt: skip
    """The same base map, then one ``folium.Marker`` (with its popup) per station."""
    m = coverage_map(result, boundaries, None, inline=inline)
    control = next(key for key, child in m._children.items()
                   if isinstance(child, folium.LayerControl))  # fmt: skip
    del m._children[control]  # re-added last, so that it lists the groups below
    # folium.Popup builds its content with jQuery's $(html)[0]: the CDN link online, a
    # three-line stand-in offline (no jQuery is vendored here).
    if inline:
        m.get_root().header.add_child(Element(JQUERY_STANDIN), name="jquery")
    else:
        m.default_js = [*m.default_js, ("jquery", "https://code.jquery.com/jquery-3.7.1.min.js")]
    for kind, group in stations.groupby("kind"):
        layer = folium.FeatureGroup(name=str(kind)).add_to(m)
        for row in group.itertuples():
            folium.Marker([row.geometry.y, row.geometry.x],
                          popup=folium.Popup(f"<b>{row.name}</b><br>{kind} · {row.status}"),
                          ).add_to(layer)  # fmt: skip
    folium.LayerControl(collapsed=False).add_to(m)
    return report_html(m)


def _timed(action: Callable[[], str], repeats: int) -> tuple[str, float]:
    times, page = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        page = action()
        times.append(time.perf_counter() - start)
    return page, statistics.median(times)


def _browser_seconds(pages: dict[str, str]) -> dict[str, float]:
    """Seconds from navigation until Leaflet has drawn the layer control, per page."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    seconds = {}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for label, page_html in pages.items():
            path = Path(folder) / f"{label}.html"
            path.write_text(page_html, encoding="utf-8")
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e, out=errors: out.append(str(e)))
            start = time.perf_counter()
            page.goto(path.as_uri(), timeout=300_000)
            page.wait_for_selector(".leaflet-control-layers-overlays label", timeout=300_000)
            seconds[label] = time.perf_counter() - start
            if errors:
                raise RuntimeError(f"{label}: {errors[:3]}")
            page.close()
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--baseline-points", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time Chromium opening each")
    args = parser.parse_args()

    boundaries = geopandas.read_file(DATA / "boundaries" / "subdistricts.geojson")
    stations = synthetic_stations(boundaries, max(args.points, args.baseline_points))
    bundled = geopandas.read_file(DATA / "stations" / "stations.geojson")
    result = analyse(boundaries, bundled[bundled.status == "open"])
    print(
        f"{len(boundaries)} subdistricts (东城, 丰台, bundled), choropleth and "
        f"{len(result.gaps)} gap polygons from the bundled stations; points synthetic"
    )

    rows = {}
    for label, build, count in (("ours", ours, args.points),
                                ("naive Marker", naive, args.baseline_points)):  # fmt: skip
        points = stations.head(count)
        page, seconds = _timed(lambda b=build, s=points: b(result, boundaries, s), args.repeats)
        raw = len(page.encode("utf-8"))
        zipped = len(gzip.compress(page.encode("utf-8"), compresslevel=6))
        rows[label] = (count, raw, zipped, seconds, page)
        print(f"{label:>13}: {count:>6,} points  HTML {raw / 1e6:7.2f} MB "
              f"({raw / count:6.0f} B/point)  gzipped {zipped / 1e6:6.2f} MB  "
              f"render {seconds:6.2f} s (median of {args.repeats})")  # fmt: skip
    base = rows["ours"]
    empty = len(ours(result, boundaries, stations.head(0)).encode("utf-8"))
    print(f"{'no stations':>13}: HTML {empty / 1e6:7.2f} MB (boundaries, gaps, legend: the floor)")
    naive_row = rows["naive Marker"]
    scale = base[0] / naive_row[0]
    note = "" if scale == 1 else f" (naive scaled ×{scale:g} from {naive_row[0]:,} points)"
    print(f"ratios naive / ours{note}: HTML {naive_row[1] * scale / base[1]:.1f}×, "
          f"gzipped {naive_row[2] * scale / base[2]:.1f}×, "
          f"render {naive_row[3] * scale / base[3]:.1f}×")  # fmt: skip
    if args.browser:
        opened = _browser_seconds({
            "ours": report_html(coverage_map(result, boundaries, stations.head(args.points),
                                             inline=True)),
            "naive": naive(result, boundaries, stations.head(args.baseline_points),
                           inline=True),
        })  # fmt: skip
        print(f"Chromium open → layer control drawn: ours {opened['ours']:.2f} s, "
              f"naive {opened['naive']:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
