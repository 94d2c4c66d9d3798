"""Read the coverage analysis's inputs from PostGIS as GeoDataFrames (the I/O edge).

The analysis itself (:mod:`geo.coverage`) never touches the database; the CLI and API call
these, then the pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas
from sqlalchemy import Connection, text

from geo.errors import InvalidInputError, NotFoundError

BOUNDARY_COLUMNS = ("code, name, level, parent_code, vintage, population, population_year, "
                    "population_source, area_km2, geom")  # fmt: skip


def load_boundaries(conn: Connection, *, level: str = "subdistrict", vintage: str | None = None,
                    codes: Sequence[str] = ()) -> geopandas.GeoDataFrame:  # fmt: skip
    """Boundaries of ``level``; ``codes`` keeps those whose own or parent code is listed.

    So ``codes=["110106000000"]`` gives Fengtai's subdistricts, ``["110106017000"]`` 卢沟桥
    alone. Boundaries of several vintages must be told apart with ``vintage``.
    """
    for code in codes:
        if not (code.isdigit() and len(code) == 12):
            raise InvalidInputError(f"boundary code {code!r} is not 12 digits", field="boundary")
    where, params = ["level = :level"], {"level": level, "codes": list(codes)}
    if vintage:
        where.append("vintage = :vintage")
        params["vintage"] = vintage
    if codes:
        where.append("(code = ANY(:codes) OR parent_code = ANY(:codes))")
    sql = f"SELECT {BOUNDARY_COLUMNS} FROM boundaries WHERE {' AND '.join(where)} ORDER BY code"  # noqa: S608
    frame = geopandas.read_postgis(text(sql), conn, geom_col="geom", params=params)
    frame = frame.rename_geometry("geometry")
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
                                "choose one with --vintage", field="vintage")  # fmt: skip
    return frame


def load_stations(conn: Connection) -> geopandas.GeoDataFrame:
    """Every station, whatever its kind or status: the supply selection filters later."""
    sql = ("SELECT source, external_id, kind, name, status, opening_hours, seats, geom "
           "FROM stations WHERE deleted_at IS NULL ORDER BY source, external_id")  # fmt: skip
    frame = geopandas.read_postgis(text(sql), conn, geom_col="geom")
    return frame.rename_geometry("geometry")


def load_enterprises(conn: Connection) -> geopandas.GeoDataFrame:
    sql = ("SELECT source, external_id, name, employees, outdoor_workers, geom "
           "FROM enterprises WHERE deleted_at IS NULL ORDER BY source, external_id")  # fmt: skip
    frame = geopandas.read_postgis(text(sql), conn, geom_col="geom")
    return frame.rename_geometry("geometry")


def population_note(boundaries: geopandas.GeoDataFrame) -> str:
    """Where the populations came from, and how many boundaries had none (they count 0)."""
    known = boundaries[boundaries["population"].notna()]
    sources = sorted({f"{source or 'unknown source'} ({int(year) if year == year else '?'})"
                      for source, year in zip(known["population_source"],
                                              known["population_year"], strict=True)})  # fmt: skip
    note = "; ".join(sources) or "none recorded"
    missing = len(boundaries) - len(known)
    if missing:
        note += f"; {missing} boundaries without a population count as 0 residents"
    return note
