"""Any vector file as one GeoDataFrame with our field names: what GDAL reads (GeoPackage,
FlatGeobuf, Shapefile, KML, GeoJSON, zipped folders) and GeoParquet.

A Shapefile's short names (:data:`geo.exporters.vector.SHAPEFILE_NAMES`) are read back as the
long ones, and KML's own elements (styling, timestamps, an empty description) are dropped,
its ``Name`` read as ``name``: what is left is the user's data, validated as any other file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyogrio

from geo.errors import InvalidInputError
from geo.exporters.vector import SHAPEFILE_NAMES

KML_STANDARD = {"id", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
                "visibility", "draworder", "icon", "snippet"}  # fmt: skip
_LONG_NAMES = {short: name for name, short in SHAPEFILE_NAMES.items()}


def read_frame(path: Path, source: str | None = None) -> Any:
    """The file's features; ``source`` is what GDAL opens when it is not the path itself
    (``/vsizip/…`` for a zipped shapefile)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path)
    where = source or str(path)
    try:
        layers = pyogrio.list_layers(where)
        if len(layers) > 1:  # GDAL would read the first and drop the rest without a word
            names = ", ".join(str(name) for name, _ in layers)
            raise InvalidInputError(
                f"{path.name} holds {len(layers)} layers ({names}): save the one to import "
                "as a file of its own",
                field="file",
            )
        frame = pyogrio.read_dataframe(where)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InvalidInputError(f"{path.name}: not a readable vector dataset ({exc})") from exc
    if suffix in (".shp", ".zip") or path.is_dir():
        longer = {c: _LONG_NAMES[c] for c in frame.columns if c in _LONG_NAMES}
        frame = frame.rename(columns={c: n for c, n in longer.items() if n not in frame})
    if suffix == ".kml":
        frame = _kml_fields(frame)
    return frame


def _read_parquet(path: Path) -> Any:
    import geopandas
    from shapely.errors import ShapelyError

    try:
        return geopandas.read_parquet(path)
    except (ValueError, OSError, TypeError, NotImplementedError, ShapelyError) as exc:
        # no "geo" metadata; pyarrow's errors subclass these; bad WKB is shapely's
        raise InvalidInputError(f"{path.name}: not a GeoParquet file ({exc})") from exc


def _kml_fields(frame: Any) -> Any:
    drop = [c for c in frame.columns if c.lower() in KML_STANDARD]
    if "description" in frame and not frame["description"].fillna("").astype(str).str.strip().any():
        drop.append("description")
    frame = frame.drop(columns=drop)
    if "Name" in frame and "name" not in frame:
        frame = frame.rename(columns={"Name": "name"})
    return frame
