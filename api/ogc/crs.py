"""CRS by reference (OGC API – Features Part 2): CRS84 and EPSG:4326, and nothing mislabelled.

Storage is WGS-84, so the two CRSs we can name are the same datum in two axis orders: CRS84 is
(lon, lat), the default everywhere; EPSG:4326 is (lat, lon) as its EPSG definition says. Both
are accepted as URIs or as safe CURIEs (``[EPSG:4326]``). GCJ-02 and BD-09 have no CRS URI; they
stay on ``coords=``, and such responses carry no ``Content-Crs`` (it would be a false label).
"""

from __future__ import annotations

from starlette.datastructures import QueryParams

from geo.errors import InvalidInputError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
SUPPORTED = (CRS84, EPSG4326)
_ALIASES = {
    CRS84: CRS84, "[OGC:CRS84]": CRS84, "OGC:CRS84": CRS84, "CRS84": CRS84,
    EPSG4326: EPSG4326, "[EPSG:4326]": EPSG4326, "EPSG:4326": EPSG4326,
}  # fmt: skip


def parse_crs(query: QueryParams, name: str) -> str:
    """The CRS URI that ``name`` asks for (CRS84 when absent), or a 400 naming the two."""
    values = query.getlist(name)
    if len(values) > 1:
        raise InvalidInputError(f"{name} may be given only once", field=name)
    if not values:
        return CRS84
    found = _ALIASES.get(values[0].strip())
    if found is None:
        raise InvalidInputError(
            f"{name} {values[0]!r} is not supported; use {CRS84} (lon, lat; the default) or "
            f"{EPSG4326} (lat, lon). GCJ-02 and BD-09 output: coords=gcj02|bd09",
            field=name,
        )
    return found


def lat_first(crs: str) -> bool:
    """Whether positions in ``crs`` are (lat, lon)."""
    return crs == EPSG4326


def content_crs(crs: str) -> dict[str, str]:
    """The ``Content-Crs`` header Part 2 asks for on every response holding geometries."""
    return {"Content-Crs": f"<{crs}>"}
