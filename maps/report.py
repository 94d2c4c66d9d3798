"""Planner report maps: coverage by subdistrict, gaps, stations and proposed sites in one HTML file.

Pure: a :class:`geo.coverage.analysis.CoverageResult` and frames in (WGS-84), a ``folium.Map`` or an
HTML string out; nothing here opens a session. ``nuanxin map`` (:mod:`cli.report_map`) loads the
frames and writes the files.

What keeps the file small and fast with tens of thousands of stations: every layer is **one**
``L.geoJson`` drawn as circle markers on a single canvas (``preferCanvas``), never one marker
object per point; coordinates are rounded to 6 decimals (about 0.1 m); a station carries only
its name (its kind and status are the layer's); popups are built in the browser on click.
Boundary and gap popups are few, so their HTML is built here, where the figures are formatted
exactly as ``nuanxin coverage`` prints them.

Without tiles (the default, machines here are offline) the boundaries are the base. The page
still loads Leaflet from a CDN unless ``inline=True``, which embeds the vendored Leaflet 1.9.4
so the file opens with no network at all.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from folium.utilities import JsCode

from geo.coverage.analysis import CoverageResult
from geo.coverage.report import GAP_COLOUR, NO_RESIDENTS, SHARE_CLASSES
from geo.vocab import LABELS_ZH, StationKind, StationStatus
from maps.pages import KIND_COLOURS, STATIC_DIR

LEAFLET_DIR = STATIC_DIR / "vendor" / "leaflet-1.9.4"
LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist"
OTHER_KIND = "#555555"
PLANNED = (StationStatus.PLANNED.value, StationStatus.UNDER_CONSTRUCTION.value)
STATION_MARGIN_M = 2000.0  # stations this far beyond the boundaries' box are left out

LAYER_COVERAGE = "步行可达居民比例"
LAYER_GAPS = "步行范围外（缺口）"
LAYER_PLANNED = "规划中 / 建设中站点"
LAYER_CLOSED = "暂停开放 / 已关闭站点"
LAYER_PROPOSALS = "建议新增站点"

# One popup builder per layer, bound lazily: no popup object exists until a point is clicked.
_STATION_POPUP = """function (feature, layer) {
  var p = feature.properties;
  layer.bindPopup(function () {
    var e = function (s) { return String(s == null ? '' : s).replace(/[&<>"']/g,
      function (c) { return '&#' + c.charCodeAt(0) + ';'; }); };
    return '<b>' + e(p.name) + '</b><br>' + e(p.kind || %(kind)s) + ' · '
      + e(p.status || %(status)s);
  });
}"""
_AREA_POPUP = """function (feature, layer) {
  layer.bindPopup(feature.properties.popup, {maxWidth: 320});
  var name = feature.properties.name;  // a tooltip is HTML: the name goes in as text
  if (name) layer.bindTooltip(document.createTextNode(name), {sticky: true});
}"""
_PROPOSAL_POPUP = """function (feature, layer) {
  layer.bindPopup(feature.properties.popup, {maxWidth: 320});
  layer.bindTooltip(String(feature.properties.rank),
    {permanent: true, direction: 'center', className: 'nx-rank'});
}"""
_CSS = """<style>
.nx-title{position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
 background:#fff;padding:4px 10px;border-radius:4px;font:bold 15px sans-serif;
 box-shadow:0 1px 4px rgba(0,0,0,.3)}
.nx-legend{position:absolute;bottom:28px;right:10px;z-index:1000;background:#fff;padding:8px;
 border-radius:4px;font:12px/1.5 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:220px}
.nx-legend i{display:inline-block;width:14px;height:12px;margin-right:6px;vertical-align:middle}
.nx-legend i.class{opacity:.85;box-sizing:border-box;border:1px solid #555}
.nx-legend i.dot{border-radius:50%;width:10px;height:10px;border:2px solid}
.nx-legend .head{font-weight:bold;margin-top:4px}
.leaflet-tooltip.nx-rank{background:transparent;border:0;box-shadow:none;font:bold 12px sans-serif}
.nx-popup td{padding:0 6px 0 0}
</style>"""


def share_colour(share: float) -> str:
    """The class colour of a share of residents within a walk (grey when there are none)."""
    if share is None or not math.isfinite(share):
        return NO_RESIDENTS
    return next(colour for upper, colour in SHARE_CLASSES if share <= upper + 1e-12)


def coverage_map(
    result: CoverageResult,
    boundaries: geopandas.GeoDataFrame,
    stations: geopandas.GeoDataFrame | None = None,
    *,
    proposals: pd.DataFrame | None = None,
    planned: geopandas.GeoDataFrame | None = None,
    title: str = "工会驿站步行可达覆盖",
    tiles: str | None = None,
    tiles_attr: str | None = None,
    inline: bool = False,
) -> folium.Map:
    """The planner's map: coverage choropleth, gaps, stations by kind and status, proposals.

    Parameters
    ----------
    result : the coverage analysis of ``boundaries`` (``per_boundary`` and ``gaps`` are drawn).
    boundaries : code, name and polygons (WGS-84) of the boundaries analysed.
    stations : points with ``kind``, ``status`` (missing: open) and ``name``. Open ones are one
        layer per kind; planned and under construction ones one hollow layer (dashed when
        planned); temporarily closed and closed ones a grey layer, hidden at first. Stations more
        than ``STATION_MARGIN_M`` beyond the boundaries' bounding box are left out.
    proposals : ``SitingResult.proposals`` (rank, lon, lat, boundary_name, code, gain_residents,
        gain_workers, nearest_existing_m), drawn as numbered sites.
    planned : extra planned sites not stored as stations (e.g. a what-if plan's additions):
        points with optional ``name`` and ``kind``; drawn with the planned stations.
    tiles, tiles_attr : a tile URL template and its attribution, for users online. Points stay
        WGS-84, so only WGS-84 (OSM-style) tile sources line up; none by default.
    inline : embed the vendored Leaflet so the file opens offline (adds about 160 KB).
    """
    west, south, east, north = boundaries.total_bounds
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=11,
                   tiles=None, prefer_canvas=True, control_scale=True)  # fmt: skip
    _resources(m, inline)
    if tiles:
        folium.TileLayer(tiles, attr=tiles_attr or tiles, name="底图", overlay=False).add_to(m)
    root = m.get_root()
    root.title = html.escape(title)  # type: ignore[attr-defined]
    root.header.add_child(Element(_CSS), name="nx_css")  # type: ignore[attr-defined]
    root.html.add_child(Element(f'<div class="nx-title">{html.escape(title)}</div>'))  # type: ignore[attr-defined]

    _geojson(_coverage_features(result, boundaries), LAYER_COVERAGE, _AREA_POPUP).add_to(m)
    if result.gaps is not None and not result.gaps.empty:
        _geojson(_gap_features(result.gaps), LAYER_GAPS, _AREA_POPUP).add_to(m)
    kinds_drawn: list[str] = []
    if stations is not None and not stations.empty:
        kinds_drawn = _add_stations(m, _near(stations, (west, south, east, north)))
    if planned is not None and not planned.empty:
        extra = planned.assign(status=planned.get("status", StationStatus.PLANNED.value))
        _add_status_layer(m, extra, LAYER_PLANNED + "（方案）", hollow=True, show=True)
    if proposals is not None and not proposals.empty:
        marker = folium.CircleMarker(radius=10, color="#000000", weight=2, fill=True,
                                     fill_color="#ffd700", fill_opacity=1.0)  # fmt: skip
        _geojson(_proposal_features(proposals), f"{LAYER_PROPOSALS} ({len(proposals)})",
                 _PROPOSAL_POPUP, marker=marker).add_to(m)  # fmt: skip
    root.html.add_child(Element(legend_html(kinds_drawn, proposals is not None)))  # type: ignore[attr-defined]
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


def report_html(m: folium.Map) -> str:
    """The standalone HTML page of ``m``."""
    return str(m.get_root().render())


def write_html(m: folium.Map, path: Path) -> Path:
    path.write_text(report_html(m), encoding="utf-8")
    return path


def legend_html(kinds: Sequence[str], with_proposals: bool) -> str:
    """The legend: share classes, no residents, gaps, each kind drawn, planned, proposals."""
    rows = ['<div class="nx-legend"><div class="head">步行15分钟可达居民比例</div>']
    lower = 0.0
    for upper, colour in SHARE_CLASSES:
        rows.append(f'<div><i class="class" style="background:{colour}"></i>'
                    f"{lower:.0%}–{upper:.0%}</div>")  # fmt: skip
        lower = upper
    rows.append(f'<div><i class="class" style="background:{NO_RESIDENTS}"></i>无居民</div>')
    rows.append(f'<div><i style="border:2px dashed {GAP_COLOUR}"></i>步行范围外（缺口）</div>')
    if kinds:
        rows.append('<div class="head">站点（开放）</div>')
        for kind in kinds:
            colour = _kind_colour(kind)
            rows.append(f'<div><i class="dot" style="background:{colour};border-color:{colour}">'
                        f"</i>{html.escape(_label(kind))}</div>")  # fmt: skip
    rows.append('<div><i class="dot" style="border:2px dashed #333"></i>规划中（空心虚线）</div>')
    rows.append('<div><i class="dot" style="border-color:#333;background:#ddd"></i>建设中</div>')
    if with_proposals:
        rows.append('<div><i class="dot" style="background:#ffd700;border-color:#000"></i>'
                    "建议新增站点（数字为排序）</div>")  # fmt: skip
    rows.append("</div>")
    return "".join(rows)


def _resources(m: folium.Map, inline: bool) -> None:
    """Only Leaflet: folium's jQuery, Bootstrap and icon fonts are not used by these layers."""
    if not inline:
        m.default_js = [("leaflet", f"{LEAFLET_CDN}/leaflet.js")]
        m.default_css = [("leaflet_css", f"{LEAFLET_CDN}/leaflet.css")]
        return
    m.default_js, m.default_css = [], []
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((LEAFLET_DIR / "images").glob("layers*.png")):  # the control's icon
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        css = css.replace(f"images/{image.name}", f"data:image/png;base64,{data}")
    script = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")
    header = m.get_root().header  # type: ignore[attr-defined]
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    # Leaflet's source contains no "</script>"; guard anyway so the page cannot break.
    script = script.replace("</script", "<\\/script")
    header.add_child(Element(f"<script>{script}</script>"), name="leaflet")


def _geojson(features: list[dict[str, Any]], name: str, popup_js: str, *,
             marker: folium.CircleMarker | None = None,
             show: bool = True) -> folium.GeoJson:  # fmt: skip
    data = {"type": "FeatureCollection", "features": features}
    return folium.GeoJson(data, name=name, show=show, marker=marker,
                          on_each_feature=JsCode(popup_js))  # fmt: skip


def _rounded(geometries: Iterable[shapely.Geometry]) -> list[dict[str, Any]]:
    array = shapely.transform(
        np.asarray(list(geometries), dtype=object), lambda xy: np.round(xy, 6)
    )
    return [json.loads(text) for text in shapely.to_geojson(array)]


def _fmt(value: Any, pattern: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    return format(number, pattern) if math.isfinite(number) else "—"


def _table(rows: Sequence[tuple[str, str]], head: str) -> str:
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<div class="nx-popup"><b>{html.escape(head)}</b><table>{cells}</table></div>'


def _coverage_features(result: CoverageResult,
                       boundaries: geopandas.GeoDataFrame) -> list[dict[str, Any]]:  # fmt: skip
    shapes = boundaries[["code", "geometry"]].drop_duplicates("code")
    frame = shapes.merge(result.per_boundary, on="code", how="inner")
    rows = frame.drop(columns="geometry").to_dict("records")
    features = []
    for row, geometry in zip(rows, _rounded(frame.geometry), strict=True):
        share = float(row["share_within_walk"])
        figures = [
            ("代码", str(row["code"])), ("欠服务排名", f"{row['rank']} / {len(frame)}"),
            ("居民", _fmt(row["residents"], ",.0f")), ("站点", _fmt(row["stations"], ",.0f")),
            ("1 km 内居民", _fmt(row["share_within_radius"], ".0%")),
            ("步行15分钟可达居民", _fmt(share, ".0%")),
            ("两个及以上站点可达", _fmt(row["share_two_plus"], ".0%")),
            ("步行范围外居民", _fmt(row["uncovered_residents"], ",.0f")),
            ("90% 居民最近站点距离 m", _fmt(row["p90_nearest_m"], ",.0f")),
            ("得分", _fmt(row["score"], ".2f")),
        ]  # fmt: skip
        if "share_workers_within_walk" in row:
            figures.insert(7, ("步行可达户外劳动者", _fmt(row["share_workers_within_walk"], ".0%")))
        style = {"color": "#555555", "weight": 1, "fillColor": share_colour(share),
                 "fillOpacity": 0.85}  # fmt: skip
        properties = {"code": str(row["code"]), "name": str(row["name"]),
                      "share_within_walk": None if math.isnan(share) else round(share, 4),
                      "popup": _table(figures, str(row["name"])), "style": style}  # fmt: skip
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return features


def _gap_features(gaps: geopandas.GeoDataFrame) -> list[dict[str, Any]]:
    style = {"color": GAP_COLOUR, "weight": 1.5, "dashArray": "4 3", "fillColor": GAP_COLOUR,
             "fillOpacity": 0.12}  # fmt: skip
    features = []
    rows = gaps.drop(columns=["geometry", "largest_pocket"], errors="ignore").to_dict("records")
    for row, geometry in zip(rows, _rounded(gaps.geometry), strict=True):
        figures = [
            ("代码", str(row["code"])),
            ("步行范围外居民", _fmt(row["residents_beyond_walk"], ",.0f")),
            ("缺口面积 km²", _fmt(row["gap_km2"], ".2f")), ("片区数", str(row["pockets"])),
            ("最大片区 km²", _fmt(row["largest_pocket_km2"], ".2f")),
        ]  # fmt: skip
        properties = {"code": str(row["code"]), "popup": _table(figures, "步行范围外（缺口）"),
                      "style": style}  # fmt: skip
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return features


def _proposal_features(proposals: pd.DataFrame) -> list[dict[str, Any]]:
    features = []
    for row in proposals.sort_values("rank").to_dict("records"):
        figures = [
            ("街道", f"{row.get('boundary_name', '')} ({row.get('code', '')})"),
            ("新增可达居民", _fmt(row.get("gain_residents"), ",.0f")),
            ("新增可达户外劳动者", _fmt(row.get("gain_workers"), ",.0f")),
            ("距最近现有站点 m", _fmt(row.get("nearest_existing_m"), ",.0f")),
            ("经纬度 (WGS-84)", f"{row['lon']:.6f}, {row['lat']:.6f}"),
        ]  # fmt: skip
        point = {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]}
        properties = {"rank": int(row["rank"]), "popup": _table(figures, f"建议站点 {row['rank']}")}
        features.append({"type": "Feature", "geometry": point, "properties": properties})
    return features


def _near(stations: geopandas.GeoDataFrame,
          bounds: tuple[float, float, float, float]) -> geopandas.GeoDataFrame:  # fmt: skip
    west, south, east, north = bounds
    dlat = STATION_MARGIN_M / 111_320
    dlon = dlat / max(math.cos(math.radians((south + north) / 2)), 0.01)
    return stations.cx[west - dlon : east + dlon, south - dlat : north + dlat]


def _label(value: str) -> str:
    labels = {str(member): label for member, label in LABELS_ZH.items()}
    return labels.get(value, value)


def _kind_colour(kind: str) -> str:
    try:
        return KIND_COLOURS[StationKind(kind)]
    except ValueError:
        return OTHER_KIND


def _point_features(frame: geopandas.GeoDataFrame, *,
                    with_kind: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Point features with only what the popup needs: the name, and kind/status when mixed."""
    geometry = frame.geometry.to_numpy()
    lon = np.round(shapely.get_x(geometry), 6).tolist()
    lat = np.round(shapely.get_y(geometry), 6).tolist()
    names = frame["name"].fillna("").astype(str).tolist() if "name" in frame else [""] * len(lon)
    properties: list[dict[str, Any]] = [{"name": name} for name in names]
    if with_kind:
        kinds = frame["kind"].astype(str).tolist() if "kind" in frame else [""] * len(lon)
        statuses = frame["status"].astype(str).tolist()
        for props, kind, status in zip(properties, kinds, statuses, strict=True):
            props.update(kind=_label(kind), status=_label(status),
                         style=_status_style(kind, status))  # fmt: skip
    return [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
             "properties": props}
            for x, y, props in zip(lon, lat, properties, strict=True)]  # fmt: skip


def _status_style(kind: str, status: str) -> dict[str, Any]:
    colour = _kind_colour(kind) if status in PLANNED else "#777777"
    if status == StationStatus.PLANNED.value:
        return {"color": colour, "dashArray": "3 3", "fillOpacity": 0.0}
    if status == StationStatus.UNDER_CONSTRUCTION.value:
        return {"color": colour, "fillColor": colour, "fillOpacity": 0.25}
    return {"color": colour, "fillColor": colour, "fillOpacity": 0.4}


def _add_stations(m: folium.Map, stations: geopandas.GeoDataFrame) -> list[str]:
    """Open stations one layer per kind; planned and closed ones a layer each. Kinds drawn."""
    status = (stations["status"].fillna(StationStatus.OPEN.value).astype(str)
              if "status" in stations else pd.Series("open", index=stations.index))  # fmt: skip
    stations = stations.assign(status=status)
    open_ = stations[status == StationStatus.OPEN.value]
    known = [str(kind) for kind in KIND_COLOURS]
    present = set(open_["kind"].astype(str)) if "kind" in open_ else set()
    kinds = [k for k in known if k in present] + sorted(present - set(known))
    for kind in kinds:
        group = open_[open_["kind"].astype(str) == kind]
        colour = _kind_colour(kind)
        marker = folium.CircleMarker(radius=4, color="#ffffff", weight=1, fill=True,
                                     fill_color=colour, fill_opacity=0.9)  # fmt: skip
        popup = _STATION_POPUP % {"kind": json.dumps(_label(kind)),
                                  "status": json.dumps(_label("open"))}  # fmt: skip
        _geojson(_point_features(group), f"{_label(kind)} ({len(group)})", popup,
                 marker=marker).add_to(m)  # fmt: skip
    _add_status_layer(m, stations[status.isin(PLANNED)], LAYER_PLANNED, hollow=True, show=True)
    rest = stations[(status != StationStatus.OPEN.value) & ~status.isin(PLANNED)]
    _add_status_layer(m, rest, LAYER_CLOSED, hollow=False, show=False)
    return kinds


def _add_status_layer(m: folium.Map, frame: geopandas.GeoDataFrame, name: str, *,
                      hollow: bool, show: bool) -> None:  # fmt: skip
    """Stations of mixed kinds: each carries its kind, status and style (no per-point script)."""
    if frame.empty:
        return
    marker = folium.CircleMarker(radius=5 if hollow else 4, weight=2, fill=True,
                                 fill_opacity=0.0 if hollow else 0.4)  # fmt: skip
    popup = _STATION_POPUP % {"kind": '""', "status": '""'}
    _geojson(_point_features(frame, with_kind=True), f"{name} ({len(frame)})", popup,
             marker=marker, show=show).add_to(m)  # fmt: skip
