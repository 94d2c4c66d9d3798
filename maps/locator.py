"""The worker's locator page and the embeddable widget: options, labels, rendering.

Nothing here reads a request or opens a database: the API hands in the query parameters as a
plain mapping and the list of enabled basemaps, and gets HTML (or the embed snippets) back.
Options are validated and put back in one canonical order, so one view has one URL. The
basemaps are :mod:`maps.basemaps`; the snippets a partner pastes, :mod:`maps.embed`.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from string import Template
from typing import Any
from urllib.parse import urlencode

from geo.errors import InvalidInputError
from geo.locator.rules import OpenMode, WorkerProfile
from geo.vocab import LABELS_ZH, Access, Amenity, StationKind
from maps.basemaps import BASEMAPS, Basemap
from maps.pages import KIND_COLOURS, STATIC_DIR, TEMPLATES

Params = dict[str, list[str]]  # a query string: each name with all its values, in order


LABELS_EN: dict[str, str] = {
    "service_centre": "Workers' service centre", "subdistrict_station": "Subdistrict union station",
    "community_union": "Community joint union", "enterprise_centre": "Enterprise service centre",
    "rest_point": "Warm-heart rest point", "water_point": "Free drinking-water point",
    "sanitation_care_point": "Sanitation-worker care point",
    "counselling_point": "Counselling point", "drinking_water": "Drinking water",
    "hot_water": "Hot water", "microwave": "Microwave", "fridge": "Fridge",
    "phone_charging": "Phone charging", "ebike_charging": "E-bike charging", "seating": "Seating",
    "toilet": "Toilet", "first_aid": "First aid", "medicine": "Medicine",
    "air_conditioning": "Air conditioning", "heating": "Heating", "wifi": "Wi-Fi",
    "books": "Books", "haircut": "Haircut", "parking": "Parking",
    "step_free_access": "Step-free access", "open_door": "Walk in", "ring": "Ring the bell",
    "id_card": "Show an ID card", "member_qr": "Member QR code", "union_card": "Union card",
    "face_registration": "Face registration",
}  # fmt: skip
PROFILE_LABELS = {
    "zh": {"sanitation": "环卫工人", "courier": "快递外卖", "driver": "司机", "guard": "保安"},
    "en": {"sanitation": "Sanitation", "courier": "Courier", "driver": "Driver", "guard": "Guard"},
}
NEEDS_OFFERED = ("hot_water", "microwave", "phone_charging", "ebike_charging", "toilet",
                 "seating", "drinking_water", "heating")  # fmt: skip

# Every sentence the pages show, in both languages; a page receives only its own language.
# English has no notices: the API's own message is shown instead.
STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "暖心驿站 · 找最近的休息点", "map": "地图", "switch": "English",
        "locate": "定位我", "locating": "正在获取你的位置…",
        "denied": "无法获取你的位置。请点地图上你所在的地方，或搜索站点、街道名称。",
        "tap": "点地图可改变你的位置。", "search": "搜索站点或街道", "no_match": "没有找到",
        "needs": "我需要", "profile": "我是", "anyone": "不限",
        "loading": "正在查找附近开放的地点…", "found": "附近开放的地点：{n} 处",
        "open_until": "开放至 {t}", "open_long": "全天开放", "closes_soon": "即将关门",
        "closed": "到达时未开放", "hours_unknown": "开放时间未知", "walk": "步行约 {n} 分钟",
        "host": "提供方：{h}", "verified": "信息核实于 {d}", "here": "你的位置",
        "nav_amap": "高德导航", "nav_baidu": "百度导航", "nav_osm": "OSM", "nav_geo": "其他地图",
        "outside_area": "这里不在本地图覆盖的范围内。",
        "nothing_within": "{km} 公里内没有符合条件的地点。",
        "nothing_open": "附近有符合条件的地点，但{when}都未开放。",
        "when_arrival": "你到达时", "when_now": "现在",
        "nearest": "最近的一处在 {d} 外。", "first_open": "最早 {t} 开放。",
        "error": "加载失败，请稍后再试。", "places": "{n} 个地点", "open_full": "打开完整地图",
        "planned": "规划中/未开放", "nearest_title": "离你最近",
        "walk_in": "无需登记", "access": "进入方式",
    },
    "en": {
        "title": "Nuanxin · nearest rest point", "map": "Map", "switch": "中文",
        "locate": "Locate me", "locating": "Finding your position…",
        "denied": "Your position is not available. Tap the map where you are, or search a "
                  "station or subdistrict by name.",
        "tap": "Tap the map to change your position.", "search": "Search a station or area",
        "no_match": "Nothing found", "needs": "I need", "profile": "I am", "anyone": "Anyone",
        "loading": "Looking for open places nearby…", "found": "Open places nearby: {n}",
        "open_until": "Open until {t}", "open_long": "Open all day",
        "closes_soon": "Closes soon", "closed": "Closed on arrival",
        "hours_unknown": "Hours unknown", "walk": "about {n} min walk", "host": "Host: {h}",
        "verified": "Checked {d}", "here": "You are here", "nav_amap": "Amap",
        "nav_baidu": "Baidu", "nav_osm": "OSM", "nav_geo": "Other app",
        "error": "Could not load. Please try again later.",
        "places": "{n} places", "open_full": "Open the full map", "planned": "Planned / not open",
        "nearest_title": "Nearest to you",
        "walk_in": "No registration needed", "access": "Getting in",
    },
}  # fmt: skip


def _one(params: Params, name: str) -> str | None:
    values = [v for v in params.get(name, []) if v != ""]
    if len(values) > 1:
        raise InvalidInputError(f"{name} may be given once", field=name)
    return values[0] if values else None


def _many(params: Params, name: str, allowed: type[StrEnum]) -> list[str]:
    """Repeated or comma-separated codes, checked against a vocabulary, deduplicated in order."""
    out: list[str] = []
    for value in params.get(name, []):
        for code in filter(None, (part.strip() for part in value.split(","))):
            if code not in {m.value for m in allowed}:
                raise InvalidInputError(f"unknown {name} value {code!r}", field=name)
            if code not in out:
                out.append(code)
    return out


def _number(params: Params, name: str, low: float, high: float) -> float | None:
    text = _one(params, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise InvalidInputError(f"{name} must be a number", field=name) from exc
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low:g} and {high:g}", field=name)
    return value


def _choice(params: Params, name: str, choices: tuple[str, ...], default: str | None) -> Any:
    value = _one(params, name)
    if value is None:
        return default
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {', '.join(choices)}", field=name)
    return value


def _basemap(params: Params, enabled: dict[str, Basemap]) -> Basemap:
    """The chosen basemap; one the server does not enable falls back to none (links live on)."""
    wanted = _one(params, "basemap") or "none"
    if wanted not in BASEMAPS and wanted not in enabled:
        raise InvalidInputError(f"unknown basemap {wanted!r}", field="basemap")
    chosen = enabled.get(wanted, BASEMAPS["none"])
    return chosen if chosen.drawable else BASEMAPS["none"]


@dataclass(frozen=True)
class LocatorOptions:
    lang: str = "zh"
    need: list[str] = field(default_factory=list)
    walk_in: bool = False  # only places anyone may walk into (no registration, code or card)
    profile: str | None = None
    open: str = OpenMode.ARRIVAL.value
    at: str | None = None  # plan for another moment (ISO, Beijing time when no zone)
    k: int = 6
    max_km: float = 5.0
    basemap: str = "none"

    def query(self, **changes: Any) -> str:
        """The canonical query string of these options (defaults left out)."""
        return _canonical(self, LocatorOptions(), changes)


@dataclass(frozen=True)
class WidgetOptions:
    lang: str = "zh"
    lat: float | None = None  # centre, with zoom; or bbox
    lon: float | None = None
    zoom: float | None = None
    bbox: tuple[float, float, float, float] | None = None  # minlon,minlat,maxlon,maxlat WGS-84
    layers: list[str] = field(default_factory=lambda: ["boundaries", "stations"])
    kinds: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    nearest: bool = False
    height: int = 400
    basemap: str = "none"
    source: str = "api"  # or "archive": the stations from the deployment's .pmtiles

    def query(self, **changes: Any) -> str:
        return _canonical(self, WidgetOptions(), changes)


WIDGET_LAYERS = ("boundaries", "stations", "planned")
WIDGET_SOURCES = ("api", "archive")  # where the widget's stations come from


def _canonical(options: Any, defaults: Any, changes: dict[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    values, plain = {**asdict(options), **changes}, asdict(defaults)
    for name, value in values.items():
        if value == plain[name] or value is None:
            continue
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, (list, tuple)):
            text = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        pairs.append((name, text))
    return urlencode(pairs, safe=",:")


def parse_locator(params: Params, enabled: dict[str, Basemap]) -> LocatorOptions:
    at = _one(params, "at")
    if at is not None:
        try:
            datetime.fromisoformat(at)
        except ValueError as exc:
            raise InvalidInputError("at must be an ISO date and time", field="at") from exc
    k, max_km = _number(params, "k", 1, 20), _number(params, "max_km", 0.1, 20)
    return LocatorOptions(
        lang=_choice(params, "lang", ("zh", "en"), "zh"),
        need=_many(params, "need", Amenity),
        walk_in=_choice(params, "walk_in", ("0", "1"), "0") == "1",
        profile=_choice(params, "profile", tuple(WorkerProfile), None),
        open=_choice(params, "open", tuple(OpenMode), OpenMode.ARRIVAL.value),
        at=at,
        k=int(k) if k is not None else 6,
        max_km=max_km if max_km is not None else 5.0,
        basemap=_basemap(params, enabled).id,
    )


def parse_widget(params: Params, enabled: dict[str, Basemap]) -> WidgetOptions:
    bbox_text = _one(params, "bbox")
    bbox = None
    if bbox_text is not None:
        try:
            minx, miny, maxx, maxy = (float(p) for p in bbox_text.split(","))
        except ValueError as exc:
            message = "bbox must be minlon,minlat,maxlon,maxlat"
            raise InvalidInputError(message, field="bbox") from exc
        if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
            raise InvalidInputError("bbox must have min < max in range", field="bbox")
        bbox = (minx, miny, maxx, maxy)
    lat, lon = _number(params, "lat", -90, 90), _number(params, "lon", -180, 180)
    if (lat is None) != (lon is None):
        raise InvalidInputError("give lat and lon together", field="lat")
    layers = params.get("layers")
    chosen = [p.strip() for v in layers for p in v.split(",") if p.strip()] if layers else None
    if chosen is not None and any(layer not in WIDGET_LAYERS for layer in chosen):
        raise InvalidInputError(f"layers are some of {', '.join(WIDGET_LAYERS)}", field="layers")
    height = _number(params, "height", 150, 2000)
    return WidgetOptions(
        lang=_choice(params, "lang", ("zh", "en"), "zh"),
        lat=lat,
        lon=lon,
        zoom=_number(params, "zoom", 3, 19),
        bbox=bbox,
        layers=list(dict.fromkeys(chosen)) if chosen is not None else WidgetOptions().layers,
        kinds=_many(params, "kinds", StationKind),
        needs=_many(params, "needs", Amenity),
        nearest=_choice(params, "nearest", ("0", "1"), "0") == "1",
        height=int(height) if height is not None else 400,
        basemap=_basemap(params, enabled).id,
        source=_choice(params, "source", WIDGET_SOURCES, "api"),
    )


@cache
def asset_url(name: str) -> str:
    """A static file's URL with a content hash, so browsers may cache it for long."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def _labels(lang: str) -> dict[str, str]:
    members = [*StationKind, *Amenity, *Access]
    if lang == "en":
        return {str(m): LABELS_EN[str(m)] for m in members}
    return {str(m): LABELS_ZH[m] for m in members}


def _config(mode: str, options: Any, basemap: Basemap, self_query: str, root: str = "",
            archive: str | None = None) -> str:  # fmt: skip
    lang = options.lang
    config = {
        "mode": mode,
        "root": root,  # the site's path prefix behind a proxy: every API path goes under it
        "archive": archive,  # the widget's stations from a .pmtiles, when source=archive
        "lang": lang,
        "t": STRINGS[lang],
        "labels": _labels(lang),
        "profiles": PROFILE_LABELS[lang],
        "colours": {str(k): c for k, c in KIND_COLOURS.items()},
        "options": asdict(options),
        "query": self_query,
        "basemap": asdict(basemap) | {"crs": basemap.crs.value},
    }
    # A JSON data block is never executed; "</" is escaped so it cannot close the element.
    return json.dumps(config, ensure_ascii=False).replace("</", "<\\/")


def _chip(name: str, value: str, label: str, pressed: bool) -> str:
    state = "true" if pressed else "false"
    return (f'<button type="button" class="chip" data-{name}="{html.escape(value)}" '
            f'aria-pressed="{state}">{html.escape(label)}</button>')  # fmt: skip


def _render(template: str, root: str = "", **values: str) -> str:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    return Template(text).substitute(css=root + asset_url("locator.css"),
                                     js=root + asset_url("locator.js"), root=html.escape(root),
                                     **values)  # fmt: skip


def locator_html(options: LocatorOptions, basemap: Basemap, root: str = "") -> str:
    """The worker's page: filters rendered here, results filled in by ``locator.js``.
    ``root``: the path prefix a proxy serves the site under ("" at the root)."""
    t, lang = STRINGS[options.lang], options.lang
    labels = _labels(lang)
    needs = "".join(_chip("need", n, labels[n], n in options.need) for n in NEEDS_OFFERED)
    needs += _chip("walkin", "1", t["walk_in"], options.walk_in)
    profiles = _chip("profile", "", t["anyone"], options.profile is None) + "".join(
        _chip("profile", p, label, p == options.profile)
        for p, label in PROFILE_LABELS[lang].items()
    )
    other = "zh" if lang == "en" else "en"
    return _render(
        "locator.html",
        root,
        lang="en" if lang == "en" else "zh-CN",
        title=html.escape(t["title"]),
        switch_href=html.escape(f"{root}/?" + options.query(lang=other)),
        switch=html.escape(t["switch"]),
        locate=html.escape(t["locate"]),
        search=html.escape(t["search"]),
        needs_label=html.escape(t["needs"]),
        profile_label=html.escape(t["profile"]),
        map_label=html.escape(t["map"]),
        needs=needs,
        profiles=profiles,
        config=_config("locator", options, basemap, options.query(), root),
    )


def widget_html(options: WidgetOptions, basemap: Basemap, root: str = "",
                archive_url: str | None = None) -> str:  # fmt: skip
    """The embeddable map: points on one canvas, options fixed by the URL. With
    ``source=archive`` the stations come from ``archive_url`` (a ``.pmtiles``)."""
    t = STRINGS[options.lang]
    archive = archive_url if options.source == "archive" else None
    script = (f'<script src="{html.escape(root)}/static/vendor/pmtiles-4.5.0/pmtiles.js"></script>'
              if archive else "")  # fmt: skip
    return _render(
        "widget.html",
        root,
        archive_script=script,
        lang="en" if options.lang == "en" else "zh-CN",
        title=html.escape(t["title"]),
        map_label=html.escape(t["map"]),
        config=_config("widget", options, basemap, options.query(), root, archive),
    )
