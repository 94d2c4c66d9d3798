"""HTML pages served by the API; here they are only rendered, never routed."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from geo.vocab import LABELS_ZH, StationKind

TEMPLATES = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# One colour per kind, chosen to stay distinguishable for common colour-vision deficiencies.
KIND_COLOURS: dict[StationKind, str] = {
    StationKind.SERVICE_CENTRE: "#7b3294",
    StationKind.SUBDISTRICT_STATION: "#c0392b",
    StationKind.COMMUNITY_UNION: "#e66101",
    StationKind.ENTERPRISE_CENTRE: "#5e3c99",
    StationKind.REST_POINT: "#1a9641",
    StationKind.WATER_POINT: "#2c7bb6",
    StationKind.SANITATION_CARE_POINT: "#fdae61",
    StationKind.COUNSELLING_POINT: "#d01c8b",
}


@cache
def index_html() -> str:
    """The overview map: boundaries as the base layer, stations coloured by kind."""
    labels = {str(member): label for member, label in LABELS_ZH.items()}
    colours = {str(kind): colour for kind, colour in KIND_COLOURS.items()}
    template = (TEMPLATES / "index.html").read_text(encoding="utf-8")
    return template.replace("__LABELS__", json.dumps(labels, ensure_ascii=False)).replace(
        "__COLOURS__", json.dumps(colours)
    )
