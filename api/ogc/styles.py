"""``/styles/nuanxin.json``: the MapLibre style for ``/tiles`` (built by :mod:`maps.style`).

Its sources are our TileJSON documents by absolute URL (under the proxy's prefix and scheme
when the deployment trusts its proxy), so MapLibre, QGIS or a partner's page can load the style
from anywhere and follow it to the tiles.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import ReadConnectionDep
from api.ogc import params
from api.ogc.tiles import LAYERS
from api.schemas import answer
from maps.style import vector_style

router = APIRouter(tags=["tiles"])
# Stable for a deployment: the sources name TileJSON, whose tile URLs carry the data version.
CACHE_CONTROL = "public, max-age=300"


class MapStyle(BaseModel):
    """A MapLibre Style Specification v8 document (its layers as the spec defines them)."""

    version: Literal[8]
    name: str
    center: list[float] = Field(min_length=2, max_length=2, description="lon, lat: the "
                                "stations' middle")  # fmt: skip
    zoom: float
    metadata: dict[str, Any] = Field(description="the kind colours and the station layers' ids")
    sources: dict[str, dict[str, Any]] = Field(description="vector sources, by TileJSON URL")
    layers: list[dict[str, Any]]


@router.get(
    "/styles/nuanxin.json",
    summary="The MapLibre style (v8) for the stations and boundaries vector tiles",
    responses={200: answer(MapStyle)},
)
async def map_style(request: Request, conn: ReadConnectionDep) -> Response:
    params.reject_unknown(request.query_params, ())
    row = await conn.fetchrow(LAYERS["stations"].bounds_sql)
    bounds = tuple(row) if row is not None and row[0] is not None else None
    style = vector_style(lambda layer: str(request.url_for("get_tilejson", layer=layer)), bounds)
    body = json.dumps(style, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json", headers={"Cache-Control": CACHE_CONTROL})
