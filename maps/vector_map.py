"""The overview map on vector tiles (``/map/vector``): MapLibre drawing ``/styles/nuanxin.json``.

The Leaflet overview (``/map``) fetches every station as GeoJSON, which suits the bundled data
and old phones; this page asks only for the tiles in view, so it stays quick with a city's or a
province's stations, and it shows what a partner gets from the style. Its words are here in both
languages; ``vector.js`` draws the legend, the kind filters and the popups.
"""

from __future__ import annotations

from typing import Any

from geo.vocab import LABELS_ZH, StationKind, StationStatus
from maps.locator import LABELS_EN
from maps.pages import KIND_COLOURS
from maps.shell import render_shell
from maps.style import STATION_LAYERS

STATUS_EN = {"planned": "Planned", "under_construction": "Under construction", "open": "Open",
             "temporarily_closed": "Temporarily closed", "closed": "Closed"}  # fmt: skip
STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "暖心地图 · 矢量瓦片",
        "switch": "English",
        "map": "站点地图",
        "legend": "图例（点击可隐藏）",
        "open_only": "只看开放的",
        "not_open": "规划/未开放",
        "loading": "正在加载地图…",
        "in_view": "视图内 {n} 个地点，其中 {o} 个开放。数据为示意。",
        "zoom_in": "放大到 8 级以上可看到站点。",
        "no_webgl": "这个浏览器无法绘制矢量地图（需要 WebGL）。请用",
        "leaflet": "普通地图",
        "error": "加载失败：{e}",
        "hours": "开放时间",
        "amenities": "设施",
        "style": "样式 JSON",
    },
    "en": {
        "title": "Nuanxin map · vector tiles",
        "switch": "中文",
        "map": "Map of places",
        "legend": "Legend (click to hide)",
        "open_only": "Open places only",
        "not_open": "Planned or closed",
        "loading": "Loading the map…",
        "in_view": "{n} places in view, {o} open. Illustrative data.",
        "zoom_in": "Zoom in to level 8 or more to see places.",
        "no_webgl": "This browser cannot draw vector maps (it needs WebGL). Use the",
        "leaflet": "plain map",
        "error": "Failed to load: {e}",
        "hours": "Opening hours",
        "amenities": "Amenities",
        "style": "Style JSON",
    },
}


def _labels(lang: str) -> dict[str, str]:
    """Kinds, statuses and amenities in the page's language (tiles carry the codes)."""
    if lang == "en":
        return LABELS_EN | STATUS_EN
    return {str(member): label for member, label in LABELS_ZH.items()}


def vector_config(lang: str) -> dict[str, Any]:
    return {
        "lang": lang,
        "labels": _labels(lang),
        "kinds": [str(kind) for kind in StationKind],
        "colours": {str(kind): colour for kind, colour in KIND_COLOURS.items()},
        "open": str(StationStatus.OPEN),
        "station_layers": list(STATION_LAYERS),
        "words": {key: STRINGS[lang][key] for key in ("in_view", "zoom_in", "error", "hours",
                                                       "amenities", "loading")},
    }  # fmt: skip


def vector_html(lang: str, root: str = "") -> str:
    """The page's shell; ``vector.js`` fills it. ``root``: the site's path prefix behind a
    proxy ("" at the root)."""
    assets = {"css": "vector.css", "js": "vector.js",
              "maplibre_css": "vendor/maplibre-gl-5.24.1/maplibre-gl.css",
              "maplibre_js": "vendor/maplibre-gl-5.24.1/maplibre-gl-csp.js",
              "maplibre_worker": "vendor/maplibre-gl-5.24.1/maplibre-gl-csp-worker.js"}  # fmt: skip
    return render_shell("vector.html", lang, STRINGS[lang], vector_config(lang), root, assets)
