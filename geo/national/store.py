"""A national run's county and province figures into PostGIS, in bulk, for /coverage/national.

One ``COPY`` per run (psycopg's binary-free text COPY of WKB hex and JSON): 2,891 counties and
34 provinces go in well under a second, inside the caller's transaction.
"""

from __future__ import annotations

import json
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
    run_id = int(conn.execute(
        text("INSERT INTO national_runs (scope, params, method) "
             "VALUES (:scope, CAST(:params AS jsonb), CAST(:method AS jsonb)) RETURNING id"),
        {"scope": scope, "params": json.dumps(asdict(params)),
         "method": json.dumps(result.method, ensure_ascii=False)},
    ).scalar_one())  # fmt: skip
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
    raw = conn.connection.driver_connection
    assert raw is not None  # a live psycopg connection inside the caller's transaction
    with raw.cursor() as cursor, cursor.copy(
        "COPY national_figures (run_id, level, code, name, province, rank, figures, geom) "
        "FROM STDIN"
    ) as copy:  # fmt: skip
        for row in rows:
            copy.write_row((*row[:7], f"SRID=4326;{row[7]}"))
    return run_id
