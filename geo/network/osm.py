"""Which OpenStreetMap ways a person may walk: osmnx's "walk" network rules, applied to a file.

osmnx (the field's standard library for OSM street networks) builds its walking network from an
Overpass filter; it cannot filter a local extract the same way, so this module applies that
filter's rules to the ways GDAL's OSM driver reads (``highway`` as a column, the rest in
``other_tags``), and to any line file that carries the same tag columns. A way is left out when

* it has no ``highway``, or is an area (``area=yes``);
* its ``highway`` is one pedestrians cannot use or that is not built: osmnx's list
  (abandoned, bus_guideway, busway, construction, cycleway, motorway(_link), no, planned,
  platform, proposed, raceway, razed) plus ``trunk``/``trunk_link``, which this project has
  always excluded (China's trunk roads are expressway-like);
* ``foot=no`` (or ``private``, ``use_sidepath``), ``service=private``, or a sidewalk mapped
  separately (``sidewalk[:both|:left|:right]=separate``: that footway is walked instead);
* ``access=private`` or ``access=no``, unless ``foot`` says pedestrians may
  (``yes``/``designated``/``permissive``), which OSM's access rules let override it. The same
  explicit ``foot`` keeps a cycleway. These two are deliberate differences from osmnx, which
  drops such ways whatever ``foot`` says; ``access=no`` is not in osmnx's filter at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import geopandas
import pandas as pd

NOT_FOR_WALKING = frozenset({
    "abandoned", "bus_guideway", "busway", "construction", "cycleway", "motorway",
    "motorway_link", "no", "planned", "platform", "proposed", "raceway", "razed",
    "trunk", "trunk_link",
})  # fmt: skip
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
FOOT_REFUSED = frozenset({"no", "private", "use_sidepath"})
ACCESS_REFUSED = frozenset({"private", "no"})
SIDEWALKS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")
TAGS = ("highway", "area", "foot", "access", "service", *SIDEWALKS)
# GDAL's OSM driver writes the tags without a column of their own as "k"=>"v","k2"=>"v2".
_HSTORE_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def other_tags(text: object) -> dict[str, str]:
    """GDAL's ``other_tags`` string as a mapping (quotes and backslashes unescaped); anything
    else (``None``, a frame's NaN) as no tags."""
    if not isinstance(text, str) or not text:
        return {}
    return {_unescape(k): _unescape(v) for k, v in _HSTORE_PAIR.findall(text)}


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")


def walkable(tags: Mapping[str, str | None]) -> bool:
    """Whether a way with these tags belongs to the walking network (see the module's rules)."""
    highway = tags.get("highway")
    if not highway or tags.get("area") == "yes":
        return False
    foot = tags.get("foot")
    if foot in FOOT_REFUSED or tags.get("service") == "private":
        return False
    if any(tags.get(key) == "separate" for key in SIDEWALKS):
        return False
    allowed = foot in FOOT_ALLOWED
    if highway in NOT_FOR_WALKING and not (allowed and highway == "cycleway"):
        return False
    return allowed or tags.get("access") not in ACCESS_REFUSED


def way_tags(lines: geopandas.GeoDataFrame) -> list[dict[str, str | None]]:
    """Each line's walking-relevant tags, from its columns and GDAL's ``other_tags``."""
    columns = [t for t in TAGS if t in lines.columns]
    extra = lines["other_tags"] if "other_tags" in lines.columns else pd.Series(None, lines.index)
    out: list[dict[str, str | None]] = []
    for values, packed in zip(lines[columns].to_dict("records"), extra, strict=True):
        tags: dict[str, str | None] = {k: v for k, v in other_tags(packed).items() if k in TAGS}
        tags.update({k: v for k, v in values.items() if isinstance(v, str)})
        out.append(tags)
    return out


def walkable_lines(lines: geopandas.GeoDataFrame, *, osm: bool) -> geopandas.GeoDataFrame:
    """The lines a person may walk along. In a file that is not OSM (``osm=False``) a line
    without a ``highway`` tag is one the user drew, and is kept."""
    if "highway" not in lines.columns:
        return lines
    keep = [walkable(tags) or (not osm and not tags.get("highway"))
            for tags in way_tags(lines)]  # fmt: skip
    return lines[keep]
