"""Point layers to the vector formats GIS users open: GeoPackage, FlatGeobuf, GeoParquet,
Shapefile and KML, each labelled with its coordinate system where the format can say it.

GeoJSON and KML are WGS-84 by definition, so shifted (GCJ-02, BD-09) points are refused there
rather than written unlabelled. A Shapefile's dBase table holds names of 10 characters and
values of 254 bytes: our longer names are shortened by one documented table
(:data:`SHAPEFILE_NAMES`, read back by the importer) instead of GDAL's silent truncation, and a
value that does not fit is refused, never cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geo.crs import CoordSystem
from geo.errors import InvalidInputError

# suffix -> GDAL driver (GeoParquet is written by geopandas: the bundled GDAL has no Parquet)
DRIVERS = {".gpkg": "GPKG", ".fgb": "FlatGeobuf", ".shp": "ESRI Shapefile", ".kml": "KML",
           ".parquet": None}  # fmt: skip
LABELLED = (".gpkg", ".fgb", ".parquet", ".shp")  # formats whose CRS can say GCJ-02 or BD-09
WGS84_ONLY = {".geojson": "GeoJSON is WGS-84 by definition (RFC 7946)",
              ".kml": "KML is WGS-84 by definition (OGC KML 2.2)"}  # fmt: skip
SHAPEFILE_NAMES = {
    "external_id": "ext_id", "opening_hours": "hours", "access_condition": "access_if",
    "floor_area_m2": "floor_m2", "last_verified_at": "verified", "outdoor_workers": "outdoor",
    "union_status": "union_st", "registration_code": "reg_code",
    "population_year": "pop_year", "population_source": "pop_source",
    "parent_code": "parent", "communities": "n_comm",
}  # fmt: skip
DBASE_BYTES = 254


def check_vector_crs(suffix: str, crs: CoordSystem) -> None:
    """Refuse a format that cannot say its points are shifted."""
    if suffix in WGS84_ONLY and crs is not CoordSystem.WGS84:
        labelled = ", ".join(LABELLED)
        raise InvalidInputError(
            f"{WGS84_ONLY[suffix]}, so {crs} points in it would be read as WGS-84 and drawn "
            f"hundreds of metres off: write {crs} to {labelled} (labelled as {crs}), .csv or "
            f".xlsx, or leave out --crs", field="crs")  # fmt: skip


def write_frame(frame: Any, path: Path) -> None:
    """Write a GeoDataFrame whose CRS is already its label, in the format of ``path``."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
        return
    if suffix == ".shp":
        frame = frame.rename(columns=SHAPEFILE_NAMES)
        long = [c for c in frame.columns if c != frame.geometry.name and len(c) > 10]
        if long:  # GDAL would cut them, and the file would not import back
            raise InvalidInputError(
                f"a Shapefile holds names of 10 characters; {long} are longer: export to "
                ".gpkg, .fgb or .parquet",
                field="path",
            )
        _fits_dbase(frame)
        _gdal_write(frame, path, driver="ESRI Shapefile", encoding="UTF-8")
        return
    _gdal_write(frame, path, layer=path.stem, driver=DRIVERS[suffix])


def _gdal_write(frame: Any, path: Path, **options: Any) -> None:
    """pyogrio's write, its failures (a missing folder, no permission) as one-line errors: GDAL
    raises its own classes (pyogrio's two public bases), not ``OSError``."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        pyogrio.write_dataframe(frame, path, **options)
    except (DataSourceError, DataLayerError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InvalidInputError(f"cannot write {path}: {reason}", field="path") from exc


def _fits_dbase(frame: Any) -> None:
    long_names = {short: name for name, short in SHAPEFILE_NAMES.items()}
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        sizes = frame[column].map(lambda v: len(v.encode()) if isinstance(v, str) else 0)
        if len(sizes) and sizes.max() > DBASE_BYTES:
            row = int(sizes.to_numpy().argmax()) + 1
            name = long_names.get(column, column)
            raise InvalidInputError(
                f"a Shapefile holds at most {DBASE_BYTES} bytes per value, and {name} of row "
                f"{row} has {sizes.max()}: export to .gpkg, .fgb or .parquet instead",
                field="path",
            )
