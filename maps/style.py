"""The MapLibre style (Style Specification v8) for our vector tiles: ``/styles/nuanxin.json``.

One style for every MapLibre client (the ``/map/vector`` page, QGIS, a partner's own map): the
boundaries as the base map (no raster tiles: machines may be offline) and the stations as
circles in :data:`maps.pages.KIND_COLOURS`, open ones solid, the others faint and outlined in
their colour, as the Leaflet overview draws them. No text layers: a style with labels needs
glyph fonts, which we do not ship; names are in each feature's properties for popups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from geo.vocab import StationKind, StationStatus
from maps.pages import KIND_COLOURS

STYLE_NAME = "nuanxin"
BACKGROUND = "#eef2f5"
OTHER_KIND = "#555555"  # a kind added to the data before the style learns its colour
# The larger circles: stations with staff, as in the overview; rest and water points smaller.
STAFFED = (StationKind.SERVICE_CENTRE, StationKind.SUBDISTRICT_STATION,
           StationKind.COMMUNITY_UNION, StationKind.ENTERPRISE_CENTRE)  # fmt: skip
STATION_LAYERS = ("stations-not-open", "stations-open")


def kind_colour() -> list[Any]:
    """A ``match`` expression: each kind's colour, :data:`OTHER_KIND` for anything else."""
    pairs: list[Any] = [
        item for kind, colour in KIND_COLOURS.items() for item in (str(kind), colour)
    ]
    return ["match", ["get", "kind"], *pairs, OTHER_KIND]


def _radius(scale: float) -> list[Any]:
    """Circle radius by zoom, larger for staffed stations (pixels at zooms 8, 12 and 16)."""
    staffed = ["match", ["get", "kind"], [str(k) for k in STAFFED], 1.5, 1.0]
    return ["interpolate", ["linear"], ["zoom"],
            8, ["*", 2.0 * scale, staffed], 12, ["*", 4.5 * scale, staffed],
            16, ["*", 7.0 * scale, staffed]]  # fmt: skip


def vector_style(
    tilejson_url: Callable[[str], str], bounds: tuple[float, float, float, float] | None = None
) -> dict[str, Any]:
    """The style, its sources read from our TileJSON (``tilejson_url(layer)`` gives each URL,
    absolute, so the style works wherever it is loaded from); it opens on the middle of
    ``bounds`` (west, south, east, north: the stations'), else on Beijing."""
    west, south, east, north = bounds or (116.0, 39.6, 116.8, 40.2)
    is_open = ["==", ["get", "status"], str(StationStatus.OPEN)]
    level = ["get", "level"]
    return {
        "version": 8,
        "name": "Nuanxin 暖心",
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6)],
        "zoom": 10,
        "metadata": {"nuanxin:kind-colours": {str(k): c for k, c in KIND_COLOURS.items()},
                     "nuanxin:station-layers": list(STATION_LAYERS)},
        "sources": {layer: {"type": "vector", "url": tilejson_url(layer), "promoteId": "id"}
                    for layer in ("boundaries", "stations")},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}},
            {"id": "districts-fill", "type": "fill", "source": "boundaries",
             "source-layer": "boundaries", "filter": ["==", level, "district"],
             "paint": {"fill-color": "#ffffff", "fill-opacity": 0.6}},
            {"id": "subdistricts-line", "type": "line", "source": "boundaries",
             "source-layer": "boundaries", "filter": ["==", level, "subdistrict"], "minzoom": 9,
             "paint": {"line-color": "#9999aa", "line-width": 1, "line-dasharray": [3, 3]}},
            {"id": "districts-line", "type": "line", "source": "boundaries",
             "source-layer": "boundaries", "filter": ["==", level, "district"],
             "paint": {"line-color": "#666677", "line-width": 2}},
            {"id": STATION_LAYERS[0], "type": "circle", "source": "stations",
             "source-layer": "stations", "filter": ["!", is_open],
             "paint": {"circle-color": kind_colour(), "circle-opacity": 0.15,
                       "circle-radius": _radius(1.0), "circle-stroke-color": kind_colour(),
                       "circle-stroke-width": 2}},
            {"id": STATION_LAYERS[1], "type": "circle", "source": "stations",
             "source-layer": "stations", "filter": is_open,
             "paint": {"circle-color": kind_colour(), "circle-opacity": 0.9,
                       "circle-radius": _radius(1.0), "circle-stroke-color": "#222222",
                       "circle-stroke-width": 1}},
        ],
    }  # fmt: skip
