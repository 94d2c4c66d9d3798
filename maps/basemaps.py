"""Basemaps: the tile sources a page may draw under its points, and the system each is drawn in.

A deployment enables the ones it may use (``NUANXIN_BASEMAPS``); the pages ask the API for
points in the enabled basemap's own coordinate system (GCJ-02 for Amap and Tencent).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from geo.crs import CoordSystem
from geo.errors import InvalidInputError


@dataclass(frozen=True)
class Basemap:
    """A tile source and the coordinate system its tiles are drawn in.

    Points must be drawn in the basemap's system (``crs``) or they land 100-700 m off, so the
    page asks the API for ``coords=<crs>``. ``url`` is a Leaflet XYZ template; ``None`` means no
    tiles (the boundaries are the base). ``drawable`` is false for Baidu, whose BD-09 tiles use
    Baidu's own Mercator and tile grid, which Leaflet's Web Mercator cannot place.
    """

    id: str
    name_zh: str
    name_en: str
    crs: CoordSystem
    url: str | None = None
    subdomains: str = ""
    attribution: str = ""
    max_zoom: int = 18
    drawable: bool = True

    @property
    def origin(self) -> str | None:
        """The tile host for a CSP ``img-src`` (a ``{s}`` label becomes ``*``)."""
        if not self.url:
            return None
        parts = urlsplit(self.url)
        if not parts.scheme:
            return None  # a path on this server: 'self' covers it
        host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
        return f"{parts.scheme}://{host}"


# Known tile sources. None is enabled by default: a deployment lists the ones it may use (and
# has the right to use) in NUANXIN_BASEMAPS; "none" is always there and needs no network.
BASEMAPS: dict[str, Basemap] = {
    b.id: b
    for b in (
        Basemap("none", "无底图（行政区划）", "No tiles (boundaries)", CoordSystem.WGS84),
        Basemap("osm", "OpenStreetMap", "OpenStreetMap", CoordSystem.WGS84,
                "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                attribution="© OpenStreetMap contributors", max_zoom=19),
        Basemap("amap", "高德地图", "Amap", CoordSystem.GCJ02,
                "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
                "&x={x}&y={y}&z={z}", subdomains="1234", attribution="© 高德地图 AutoNavi"),
        Basemap("tencent", "腾讯地图", "Tencent Maps", CoordSystem.GCJ02,
                "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&styleid=1000&scene=0",
                subdomains="0123", attribution="© 腾讯地图"),
        Basemap("baidu", "百度地图", "Baidu Maps", CoordSystem.BD09, drawable=False),
    )
}  # fmt: skip


def custom_basemap(url: str, crs: str, attribution: str = "") -> Basemap:
    """A deployment's own tile server (e.g. an intranet one), in the system it declares."""
    if not url.startswith(("https://", "http://", "/")):
        raise InvalidInputError("a custom tile URL must be http(s) or a path", field="basemap")
    return Basemap("custom", "本地底图", "Local tiles", CoordSystem(crs), url,
                   attribution=attribution)  # fmt: skip
