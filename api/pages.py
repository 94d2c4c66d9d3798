"""``/``: the overview map page, and the static files it needs (vendored Leaflet)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from maps.pages import index_html

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, summary="Overview map", include_in_schema=False)
async def index() -> HTMLResponse:
    return HTMLResponse(index_html())
