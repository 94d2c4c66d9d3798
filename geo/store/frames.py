"""The analyses' inputs read from PostGIS as GeoDataFrames: one set of statements and builders.

The CLI and the siting job run them on a SQLAlchemy connection (:func:`load_boundaries` and
friends); the API compiles the same statements for asyncpg and hands its rows to the same
builders (:func:`boundaries_frame`, :func:`check_boundaries`, …), so a figure on a page and in a
terminal come from the same rows. The analysis itself (:mod:`geo.coverage`) never touches the
database.

Boundaries are the current ones (``valid_to IS NULL``) unless a ``vintage`` is named: then that
edition, current or not, so a planner can look back at an older division.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas
import pandas as pd
import shapely
from sqlalchemy import Connection, TextClause, text

from geo.errors import InvalidInputError, NotFoundError
from geo.standards import boundary_code

Rows = Sequence[Mapping[Any, Any]]  # SQLAlchemy row mappings or asyncpg records
BOUNDARY_COLUMNS = ("code", "name", "level", "parent_code", "vintage", "population",
                    "population_year", "population_source", "area_km2")  # fmt: skip
STATION_COLUMNS = ("source", "external_id", "kind", "name", "status", "opening_hours", "seats")
ENTERPRISE_COLUMNS = ("source", "external_id", "name", "employees", "outdoor_workers")

_BOUNDARIES_SQL = f"""
SELECT {", ".join(BOUNDARY_COLUMNS)}, ST_AsBinary(geom) AS wkb,
       CASE WHEN CAST(:shape_deg AS float8) IS NULL THEN NULL
            ELSE ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :shape_deg), 6) END AS shape
  FROM boundaries
 WHERE level = :level
   AND (CASE WHEN CAST(:vintage AS text) IS NULL THEN valid_to IS NULL
             ELSE vintage = :vintage END)
   AND (cardinality(CAST(:codes AS text[])) = 0
        OR code = ANY(CAST(:codes AS text[])) OR parent_code = ANY(CAST(:codes AS text[])))
 ORDER BY code
"""  # noqa: S608 (fixed column names; values are bound)
STATIONS_QUERY = text(
    f"SELECT {', '.join(STATION_COLUMNS)}, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM stations "  # noqa: S608
    "WHERE deleted_at IS NULL ORDER BY source, external_id"
)
ENTERPRISES_QUERY = text(
    f"SELECT {', '.join(ENTERPRISE_COLUMNS)}, ST_X(geom) AS lon, ST_Y(geom) AS lat "  # noqa: S608
    "FROM enterprises WHERE deleted_at IS NULL ORDER BY source, external_id"
)


def boundaries_query(*, level: str = "subdistrict", vintage: str | None = None,
                     codes: Sequence[str] = (), shape_deg: float | None = None,
                     ) -> TextClause:  # fmt: skip
    """Boundaries of ``level`` whose own or parent code is in ``codes`` (all when empty).

    So ``codes=["110106000000"]`` gives Fengtai's subdistricts, ``["110106017000"]`` 卢沟桥
    alone. ``shape_deg`` adds each outline simplified to that tolerance as GeoJSON (``shape``),
    for a response that draws them.
    """
    for code in codes:
        boundary_code(code)
    return text(_BOUNDARIES_SQL).bindparams(level=level, vintage=vintage, codes=list(codes),
                                            shape_deg=shape_deg)  # fmt: skip


def boundaries_frame(rows: Rows) -> geopandas.GeoDataFrame:
    table = pd.DataFrame([{c: r[c] for c in BOUNDARY_COLUMNS} for r in rows],
                         columns=list(BOUNDARY_COLUMNS))  # fmt: skip
    geometry = shapely.from_wkb([bytes(r["wkb"]) for r in rows])
    return geopandas.GeoDataFrame(table, geometry=geometry, crs=4326)


def check_boundaries(frame: geopandas.GeoDataFrame, *, level: str, codes: Sequence[str] = (),
                     vintage_option: str = "--vintage") -> geopandas.GeoDataFrame:  # fmt: skip
    """``frame`` when it is one edition holding every code asked for; else say what is wrong
    (naming the caller's ``vintage_option``)."""
    if codes:
        found = set(frame["code"]) | set(frame["parent_code"].dropna())
        missing = sorted(set(codes) - found)
        if missing:
            raise NotFoundError(f"no {level} boundary with code or parent code "
                                f"{', '.join(missing)}")  # fmt: skip
    if frame.empty:
        raise NotFoundError(f"no {level} boundaries loaded; import some first")
    vintages = sorted(frame["vintage"].unique())
    if len(vintages) > 1:
        raise InvalidInputError(f"boundaries of several vintages ({', '.join(vintages)}); "
                                f"choose one with {vintage_option}", field="vintage")  # fmt: skip
    return frame


def points_frame(rows: Rows, columns: Sequence[str]) -> geopandas.GeoDataFrame:
    """Rows with ``lon`` and ``lat`` as points (WGS-84), keeping ``columns``."""
    table = pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=list(columns))
    points = geopandas.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows])
    return geopandas.GeoDataFrame(table, geometry=points, crs=4326)


def load_boundaries(conn: Connection, *, level: str = "subdistrict", vintage: str | None = None,
                    codes: Sequence[str] = ()) -> geopandas.GeoDataFrame:  # fmt: skip
    """:func:`boundaries_query`'s boundaries, checked by :func:`check_boundaries`."""
    query = boundaries_query(level=level, vintage=vintage, codes=codes)
    rows = conn.execute(query).mappings().all()
    return check_boundaries(boundaries_frame(rows), level=level, codes=codes)


def load_stations(conn: Connection) -> geopandas.GeoDataFrame:
    """Every station, whatever its kind or status: the supply selection filters later."""
    return points_frame(conn.execute(STATIONS_QUERY).mappings().all(), STATION_COLUMNS)


def load_enterprises(conn: Connection) -> geopandas.GeoDataFrame:
    return points_frame(conn.execute(ENTERPRISES_QUERY).mappings().all(), ENTERPRISE_COLUMNS)
