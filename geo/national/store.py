"""National runs into PostGIS, in bulk: a coverage run's county and province figures (for
``/coverage/national``) and a siting run's proposed sites (for ``/siting/national``).

One ``COPY`` per run (psycopg's binary-free text COPY of WKB hex and JSON): 2,891 counties and
34 provinces go in well under a second, inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import geopandas
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from geo.jsonsafe import json_scalar
from geo.national.counties import NationalDemand
from geo.national.engine import NationalResult
from geo.national.kernel import NationalParams
from geo.national.report import province_shapes
from geo.national.siting import NationalSiting
from geo.national.siting_parts import SitingParams

SIMPLIFY_DEG = 0.002  # ~200 m: outlines for a map, not for measuring (the figures are exact)


def _figures(row: dict[str, Any]) -> str:
    skip = ("code", "name", "province", "rank")
    clean = {k: None if v is pd.NA else json_scalar(v, 6) for k, v in row.items() if k not in skip}
    return json.dumps(clean, ensure_ascii=False)


def _multipolygon(geometry: shapely.Geometry) -> str:
    shape = shapely.simplify(geometry, SIMPLIFY_DEG, preserve_topology=True)
    if shape.geom_type == "Polygon":
        shape = shapely.MultiPolygon([shape])
    return str(shapely.to_wkb(shape, hex=True, include_srid=False))


def store_run(conn: Connection, result: NationalResult, demand: NationalDemand,
              params: NationalParams, *, scope: str,
              province_outlines: geopandas.GeoDataFrame | None = None) -> int:  # fmt: skip
    """Insert the run and its figures; returns the run's id."""
    run_id = _insert_run(conn, "national_runs", scope, asdict(params), result.method)
    outlines = demand.counties.set_index("code").geometry
    if province_outlines is None:
        province_outlines = province_shapes(demand.counties)
    provinces = province_outlines.set_index("code").geometry
    rows = []
    for level, table, shapes in (("county", result.counties, outlines),
                                 ("province", result.provinces, provinces)):  # fmt: skip
        for row in table.to_dict("records"):
            rank = None if pd.isna(row["rank"]) else int(row["rank"])
            province = row["province"] if level == "county" else row["code"]
            rows.append((run_id, level, row["code"], row["name"], province, rank,
                         _figures(row), _multipolygon(shapes[row["code"]])))  # fmt: skip
    _copy(
        conn,
        "national_figures (run_id, level, code, name, province, rank, figures, geom)",
        ((*row[:7], f"SRID=4326;{row[7]}") for row in rows),
    )
    return run_id


def _insert_run(conn: Connection, table: str, scope: str, params: dict[str, Any],
                method: dict[str, Any]) -> int:  # fmt: skip
    """One run's row (``national_runs`` or ``national_sitings``); its id."""
    return int(conn.execute(
        text(f"INSERT INTO {table} (scope, params, method) "  # noqa: S608 - our two tables
             "VALUES (:scope, CAST(:params AS jsonb), CAST(:method AS jsonb)) RETURNING id"),
        {"scope": scope, "params": json.dumps(params),
         "method": json.dumps(method, ensure_ascii=False)},
    ).scalar_one())  # fmt: skip


def _copy(conn: Connection, target: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """``COPY target FROM STDIN`` on the caller's connection, inside its transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None  # a live psycopg connection inside the caller's transaction
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def siting_summary(result: NationalSiting) -> dict[str, Any]:
    """The run's method with its figures: what ``.method.json`` and the stored run both say."""
    return {**result.method, "added": result.added, "bound": result.bound, "gap": result.gap,
            "price": result.price, "residents": result.residents,
            "beyond_walk_before": result.beyond_walk_before}  # fmt: skip


def store_siting(conn: Connection, result: NationalSiting, params: SitingParams, *,
                 scope: str) -> int:  # fmt: skip
    """Insert the siting run and its sites in rank order; returns the run's id."""
    method = {k: json_scalar(v) for k, v in siting_summary(result).items()}
    run_id = _insert_run(conn, "national_sitings", scope, asdict(params), method)
    _copy(conn, "national_sites (siting_id, rank, h3, code, county, province, gain, "
          "gain_alone, geom)",
          ((run_id, int(site.rank), site.h3, site.code, site.county, site.province,
            float(site.gain), float(site.gain_alone),
            f"SRID=4326;POINT({site.lon!r} {site.lat!r})")
           for site in result.sites.itertuples()))  # fmt: skip
    return run_id
