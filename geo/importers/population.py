"""Populations onto boundaries: a CSV or XLSX of figures, keyed by 12-digit code or by name.

Residents are what coverage shares are shares of, and the official figures rarely come at the
level a planner analyses: Beijing publishes census totals per district, not per subdistrict.
Each row of the file gives a figure for one boundary of the level analysed (stored as it is)
or for a parent, a district (spread over its subdistricts: by their geodesic area, or by a
weight layer of points, e.g. enterprises' workers or a survey of homes). The method is written
into every boundary's ``population_source``, so every figure later says where it came from.

Rows are checked like every import: each refusal names its line, column and reason (unknown
code or name, not a whole number ≥ 0, a duplicate, a district given both a total and its own
subdistricts' figures); the writes are one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.coverage.demand import geodesic_km2
from geo.errors import InvalidInputError
from geo.importers._validate import Rejection, SourceRow
from geo.importers.tables import IGNORE, decode_text, read_csv, read_xlsx
from geo.standards import is_boundary_code

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "district_code", "boundary_code", "区划代码", "行政区划代码", "代码", "编码"),
    "name": ("name", "district_name", "boundary_name", "名称", "地区", "区县", "街道", "街乡"),
    "population": ("population", "pop_total", "pop", "人口", "常住人口", "总人口", "人口数"),
    "year": ("year", "census_year", "population_year", "年份", "普查年份"),
}
SPREADS = ("area", "weights")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+(?:\.0+)?")  # 2019764, 2,019,764, 2019764.0


@dataclass(frozen=True)
class PopulationReport:
    file: str
    year: int
    direct: int = 0  # boundaries given their own figure
    spread: int = 0  # parents whose total was spread
    spread_over: int = 0  # boundaries that received a share of a parent's total
    skipped_other_years: int = 0
    ignored_columns: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    methods: tuple[str, ...] = field(default_factory=tuple)

    @property
    def written(self) -> int:
        return self.direct + self.spread_over

    def summary(self) -> str:
        parts = [f"{self.file}: {self.written} boundaries given a {self.year} population "
                 f"({self.direct} directly, {self.spread} totals spread over "
                 f"{self.spread_over}), {len(self.rejected)} rejected"]  # fmt: skip
        if self.skipped_other_years:
            parts.append(f"{self.skipped_other_years} rows of other years skipped")
        if self.ignored_columns:
            parts.append(f"columns ignored: {', '.join(self.ignored_columns)}")
        return "; ".join(parts)


def _headers(path: Path) -> list[str]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise InvalidInputError(f"{path.name}: not a readable XLSX workbook") from exc
        try:
            first = next(workbook.worksheets[0].iter_rows(values_only=True), ())
        finally:
            workbook.close()
        return [str(h) if h is not None else "" for h in first]
    line = decode_text(path).splitlines()[:1]
    return [h.strip() for h in re.split(r"[,;\t]", line[0])] if line else []


def read_population_rows(path: Path) -> tuple[list[SourceRow], tuple[str, ...]]:
    """The file's rows with ``code``/``name``/``population``/``year`` values, and the columns
    it ignored (a census table has many more)."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise InvalidInputError(f"{path.name}: populations come as .csv or .xlsx")
    known = {"".join(a.split()).lower(): f for f, aliases in COLUMNS.items() for a in aliases}
    mapping = {h: known.get("".join(h.split()).lower(), IGNORE) for h in _headers(path)}
    if "population" not in mapping.values():
        names = ", ".join(COLUMNS["population"])
        raise InvalidInputError(
            f"{path.name}: no population column (one of {names})", field="population"
        )
    if not {"code", "name"} & set(mapping.values()):
        raise InvalidInputError(f"{path.name}: no code or name column to say whose figure "
                                "each row is", field="code")  # fmt: skip
    reader = read_xlsx if path.suffix.lower() == ".xlsx" else read_csv
    ignored = tuple(h for h, f in mapping.items() if f == IGNORE and h)
    return reader(path, mapping), ignored


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value >= 0 and value.is_integer() else None
    text_value = str(value).strip()
    return int(float(text_value.replace(",", ""))) if _NUMBER.fullmatch(text_value) else None


def _code(value: Any) -> str | None:
    code = str(value).strip()
    if code.endswith(".0"):  # a spreadsheet's number
        code = code[:-2]
    if len(code) == 6 and is_boundary_code(code + "000000"):
        return code + "000000"  # a county-level code, as census tables give it
    return code if is_boundary_code(code) else None


def shares_by_area(children: geopandas.GeoDataFrame) -> np.ndarray:
    areas = np.array([geodesic_km2(g) for g in children.geometry], dtype=np.float64)
    shares: np.ndarray = areas / areas.sum()
    return shares


def shares_by_weights(children: geopandas.GeoDataFrame, points: geopandas.GeoDataFrame,
                      column: str) -> np.ndarray | None:  # fmt: skip
    """Each child's part of the points' ``column`` (``None`` when none of it falls inside)."""
    tree = shapely.STRtree(children.geometry.to_numpy())
    pairs = tree.query(points.geometry.to_numpy(), predicate="within")
    weights = np.bincount(pairs[1], weights=points[column].to_numpy(np.float64)[pairs[0]],
                          minlength=len(children))  # fmt: skip
    return None if weights.sum() <= 0 else weights / weights.sum()


def spread_whole(total: int, shares: np.ndarray) -> list[int]:
    """``total`` in whole residents by ``shares``, summing exactly to it (largest remainders)."""
    exact = shares * total
    whole = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - whole), kind="stable")[: total - int(whole.sum())]:
        whole[i] += 1
    return [int(v) for v in whole]


@dataclass(frozen=True)
class Assignment:
    code: str
    population: int
    source: str


@dataclass(frozen=True)
class Plan:
    assignments: list[Assignment]
    rejected: list[Rejection]
    year: int
    skipped_other_years: int
    direct: int
    spread: int  # parents' totals spread
    methods: list[str]


def plan_population(rows: Sequence[SourceRow], boundaries: geopandas.GeoDataFrame,
                    parent_names: Mapping[str, str], *, file: str, level: str, year: int | None,
                    source: str, weights: geopandas.GeoDataFrame | None = None,
                    weight_column: str = "weight",
                    ) -> Plan:  # fmt: skip
    """Pure: which boundary gets which figure. ``boundaries`` are the ``level`` boundaries of
    one edition (code, name, parent_code, geometry); ``parent_names`` maps parents' codes to
    names."""
    years = {_whole(r.values["year"]) for r in rows if "year" in r.values}
    if year is None:
        if len(years) > 1 or None in years:
            shown = ", ".join(str(y) for y in sorted(y for y in years if y is not None))
            raise InvalidInputError(f"{file} holds figures of several years ({shown}): choose one "
                                    "with --year", field="year")  # fmt: skip
        if not years:
            raise InvalidInputError(f"{file} has no year column: say the year of its figures "
                                    "with --year", field="year")  # fmt: skip
        year = years.pop()
    assert year is not None
    by_code = {c: i for i, c in enumerate(boundaries["code"])}
    children: dict[str, list[int]] = {}
    for i, parent in enumerate(boundaries["parent_code"]):
        if parent:
            children.setdefault(parent, []).append(i)
    names: dict[str, list[str]] = {}
    for code, name in zip(boundaries["code"], boundaries["name"], strict=True):
        names.setdefault(name, []).append(code)
    for code, name in parent_names.items():
        if code in children:
            names.setdefault(name, []).append(code)

    rejected: list[Rejection] = []
    seen: dict[str, str] = {}
    direct: dict[str, tuple[int, str]] = {}  # code -> (population, location)
    totals: dict[str, tuple[int, str]] = {}
    labels = dict(parent_names)
    skipped = 0

    def refuse(row: SourceRow, column: str, reason: str) -> None:
        rejected.append(Rejection(file, row.location, column, reason))

    for row in rows:
        values = row.values
        if "year" in values and _whole(values["year"]) != year:
            if _whole(values["year"]) is None:
                refuse(row, "year", f"not a year: {values['year']!r}")
            else:
                skipped += 1
            continue
        if "code" in values:
            code = _code(values["code"])
            if code is None:
                refuse(row, "code", f"not a 6- or 12-digit code: {values['code']!r}")
                continue
        elif "name" in values:
            matches = names.get(str(values["name"]).strip(), [])
            if len(matches) != 1:
                refuse(row, "name", f"{values['name']!r} names "
                       + ("no boundary" if not matches else f"several ({', '.join(matches)})")
                       + ": give codes instead")  # fmt: skip
                continue
            code = matches[0]
        else:
            refuse(row, "code", "neither a code nor a name")
            continue
        if code not in by_code and code not in children:
            refuse(row, "code", f"{code} is no current {level} here, nor the parent of one")
            continue
        population = _whole(values.get("population", ""))
        if population is None:
            refuse(row, "population", f"not a whole number of residents ≥ 0: "
                   f"{values.get('population')!r}")  # fmt: skip
            continue
        if code in seen:
            refuse(row, "code", f"{code} again: already given at {seen[code]}")
            continue
        seen[code] = row.location
        if code in by_code:
            direct[code] = (population, row.location)
        else:  # a parent: named as the file names it, else as the boundaries do
            totals[code] = (population, row.location)
            if values.get("name"):
                labels[code] = str(values["name"]).strip()

    assignments = [Assignment(c, p, source) for c, (p, _) in direct.items()]
    methods = [f"{len(direct)} {level} figures as given"] if direct else []
    spread = 0
    for parent, (total, location) in totals.items():
        members = children[parent]
        given = [c for c in boundaries["code"].iloc[members] if c in direct]
        if given:
            rejected.append(Rejection(file, location, "code",
                                      f"{parent}'s total and its {level} {given[0]}'s own figure "
                                      "are both given: give one or the other"))  # fmt: skip
            continue
        part = boundaries.iloc[members]
        shares, how = None, "by area"
        if weights is not None:
            shares = shares_by_weights(part, weights, weight_column)
            how = f"by {weight_column} of the weight layer" if shares is not None else (
                "by area (no weight inside)")  # fmt: skip
        if shares is None:
            shares = shares_by_area(part)
        label = labels.get(parent, parent)
        for code, value in zip(part["code"], spread_whole(total, shares), strict=True):
            note = f"{source}: {label} total spread over {len(members)} {level}s {how}"
            assignments.append(Assignment(code, value, note))
        spread += 1
        methods.append(f"{label} total {total:,} spread over {len(members)} {level}s {how}")
    return Plan(assignments, rejected, year, skipped, len(direct), spread, methods)


_TARGETS = """
SELECT code, name, parent_code, vintage, ST_AsBinary(geom) AS wkb FROM boundaries
 WHERE level = :level AND valid_to IS NULL
   AND (CAST(:vintage AS text) IS NULL OR vintage = :vintage)
 ORDER BY code
"""
_PARENTS = (
    "SELECT DISTINCT ON (code) code, name FROM boundaries WHERE valid_to IS NULL "
    "ORDER BY code, vintage DESC"
)
_WRITE = """
UPDATE boundaries SET population = :population, population_year = :year,
       population_source = :source
 WHERE code = :code AND vintage = :vintage AND valid_to IS NULL
"""


def import_population(session: Session, path: Path, *, level: str = "subdistrict",
                      vintage: str | None = None, year: int | None = None,
                      source: str | None = None, weights: geopandas.GeoDataFrame | None = None,
                      weight_column: str = "weight", strict: bool = False,
                      ) -> PopulationReport:  # fmt: skip
    """Read ``path`` and write its figures in the session's transaction (see the module)."""
    rows, ignored = read_population_rows(path)
    found = session.execute(text(_TARGETS), {"level": level, "vintage": vintage}).mappings().all()
    if not found:
        raise InvalidInputError(f"no current {level} boundaries"
                                + (f" of vintage {vintage}" if vintage else "")
                                + ": import them first")  # fmt: skip
    vintages = sorted({r["vintage"] for r in found})
    if len(vintages) > 1:
        raise InvalidInputError(f"{level} boundaries of several vintages ({', '.join(vintages)}): "
                                "choose one with --vintage", field="vintage")  # fmt: skip
    boundaries = geopandas.GeoDataFrame(
        [{k: r[k] for k in ("code", "name", "parent_code")} for r in found],
        geometry=shapely.from_wkb([bytes(r["wkb"]) for r in found]), crs=4326,
    )  # fmt: skip
    if weights is not None and weight_column not in weights:
        raise InvalidInputError(f"the weight layer has no column {weight_column!r}",
                                field="weights")  # fmt: skip
    parents = {r["code"]: r["name"] for r in session.execute(text(_PARENTS)).mappings()}
    plan = plan_population(
        rows, boundaries, parents, file=path.name, level=level, year=year,
        source=source or path.name, weights=weights, weight_column=weight_column,
    )  # fmt: skip
    if strict and plan.rejected:
        first = plan.rejected[0]
        raise InvalidInputError(f"{first.file} {first.location}: {first.column}: "
                                f"{first.reason} ({len(plan.rejected)} rows rejected; nothing was "
                                "written)")  # fmt: skip
    session.execute(text("SELECT set_config('nuanxin.actor', :actor, true)"),
                    {"actor": f"import:{path.name}"})  # fmt: skip
    if plan.assignments:
        session.execute(text(_WRITE), [{"code": a.code, "population": a.population,
                                        "year": plan.year, "source": a.source,
                                        "vintage": vintages[0]}
                                       for a in plan.assignments])  # fmt: skip
    return PopulationReport(path.name, plan.year, plan.direct, plan.spread,
                            len(plan.assignments) - plan.direct, plan.skipped_other_years,
                            ignored, tuple(plan.rejected), tuple(plan.methods))  # fmt: skip
