"""HTML pages served by the API; here they are only rendered, never routed."""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path

from geo.vocab import LABELS_ZH, StationKind

TEMPLATES = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# One colour per kind: the eight of Okabe & Ito's palette, made to stay distinct for every
# common colour-vision deficiency (the old set put a red and a green side by side).
KIND_COLOURS: dict[StationKind, str] = {
    StationKind.SERVICE_CENTRE: "#000000",
    StationKind.SUBDISTRICT_STATION: "#d55e00",
    StationKind.COMMUNITY_UNION: "#e69f00",
    StationKind.ENTERPRISE_CENTRE: "#cc79a7",
    StationKind.REST_POINT: "#009e73",
    StationKind.WATER_POINT: "#56b4e9",
    StationKind.SANITATION_CARE_POINT: "#f0e442",
    StationKind.COUNSELLING_POINT: "#0072b2",
}


@cache
def index_html(root: str = "") -> str:
    """The overview map: boundaries as the base layer, stations coloured by kind. ``root``: the
    path prefix a proxy serves the site under ("" at the root)."""
    labels = {str(member): label for member, label in LABELS_ZH.items()}
    colours = {str(kind): colour for kind, colour in KIND_COLOURS.items()}
    template = (TEMPLATES / "index.html").read_text(encoding="utf-8")
    return (
        template.replace("__LABELS__", json.dumps(labels, ensure_ascii=False))
        .replace("__COLOURS__", json.dumps(colours))
        .replace("__ROOT_JSON__", json.dumps(root).replace("</", "<\\/"))
        .replace("__ROOT__", html.escape(root))
    )
