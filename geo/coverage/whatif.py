"""What-if: add, move, open or close stations and see the change per boundary.

A change file is CSV or GeoJSON, one change per row:

* ``add``: a new station at ``lon``/``lat`` (``name``, ``kind``, ``opening_hours`` optional);
* ``move``: station ``id`` (its external id) to ``lon``/``lat``;
* ``open``: station ``id`` opens (e.g. 卢沟桥's planned third station);
* ``close``: station ``id`` closes.

Every bad row is reported with its line (CSV) or feature number (GeoJSON) before anything runs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas
import numpy as np
import pandas as pd
import shapely
from shapely import Point

from geo.crs import CoordSystem, convert
from geo.errors import InvalidInputError
from geo.vocab import StationKind, StationStatus

Action = Literal["add", "move", "open", "close"]
ACTIONS: tuple[Action, ...] = ("add", "move", "open", "close")
FIELDS = {"action", "id", "name", "kind", "lon", "lat", "opening_hours"}
COMPARED = ("stations", "share_within_radius", "share_within_walk", "share_two_plus",
            "mean_nearest_m", "p90_nearest_m", "uncovered_residents", "uncovered_workers",
            "score", "rank")  # fmt: skip
COLUMNS = ("action", "id", "name", "kind", "lon", "lat", "opening_hours")  # a change file's
MAX_CHANGES = 500


@dataclass(frozen=True)
class StationChange:
    action: Action
    station_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    name: str | None = None
    kind: str = StationKind.REST_POINT.value
    opening_hours: str | None = None
    where: str = ""  # "line 3" or "feature 2", for messages


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None


def _change(raw: dict[str, Any], where: str, crs: CoordSystem) -> StationChange:
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)}")
    action = str(raw.get("action") or "").strip().lower()
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    station_id = str(raw.get("id") or "").strip() or None
    lon, lat = _number(raw.get("lon")), _number(raw.get("lat"))
    if action in ("move", "open", "close") and station_id is None:
        raise ValueError(f"{action} needs the station's id")
    if action in ("add", "move"):
        if lon is None or lat is None:
            raise ValueError(f"{action} needs lon and lat")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"coordinates {lon}, {lat} are out of range")
        lon, lat = convert(lon, lat, crs, CoordSystem.WGS84)
        lon, lat = round(lon, 7), round(lat, 7)  # 1 cm: as a change file writes them
    kind = str(raw.get("kind") or StationKind.REST_POINT.value).strip()
    if kind not in {member.value for member in StationKind}:
        raise ValueError(f"unknown kind {kind!r}")
    hours = str(raw.get("opening_hours") or "").strip() or None
    name = str(raw.get("name") or "").strip() or None
    return StationChange(action, station_id, lon, lat, name, kind, hours, where)


def _rows(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield f"line {number}", {k.strip().lower(): v for k, v in row.items() if k}
    elif suffix in (".geojson", ".json"):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path.name} is not JSON: {exc.msg} at line {exc.lineno}",
                                    field="what_if") from exc  # fmt: skip
        for number, feature in enumerate(document.get("features", []), start=1):
            properties = dict(feature.get("properties") or {})
            geometry = feature.get("geometry") or {}
            if geometry.get("type") == "Point":
                properties["lon"], properties["lat"] = geometry["coordinates"][:2]
            yield f"feature {number}", properties
    else:
        raise InvalidInputError(f"what-if files are CSV or GeoJSON, not {path.suffix or path.name}",
                                field="what_if")  # fmt: skip


def read_changes(path: Path, crs: CoordSystem = CoordSystem.WGS84) -> list[StationChange]:
    """Every change in ``path``, or one error listing every bad row (nothing half-applied)."""
    if not path.exists():
        raise InvalidInputError(f"{path} does not exist", field="what_if")
    return _collect(_rows(path), crs, path.name)


def parse_changes(raws: Sequence[dict[str, Any]],
                  crs: CoordSystem = CoordSystem.WGS84) -> list[StationChange]:  # fmt: skip
    """The changes a page sends (one mapping per change, the file's fields), checked as a file's
    rows are; ``where`` is "change N"."""
    if len(raws) > MAX_CHANGES:
        raise InvalidInputError(f"{len(raws)} changes: at most {MAX_CHANGES}", field="changes")
    rows = ((f"change {n}", {str(k).strip().lower(): v for k, v in raw.items()})
            for n, raw in enumerate(raws, start=1))  # fmt: skip
    return _collect(rows, crs, "what-if")


def _collect(rows: Iterable[tuple[str, dict[str, Any]]], crs: CoordSystem,
             name: str) -> list[StationChange]:  # fmt: skip
    changes, problems = [], []
    for where, raw in rows:
        try:
            changes.append(_change(raw, where, crs))
        except ValueError as exc:
            problems.append(f"{name} {where}: {exc}")
    if problems:
        raise InvalidInputError("; ".join(problems), field="what_if")
    if not changes:
        raise InvalidInputError(f"{name} holds no changes", field="what_if")
    return changes


def changes_csv(changes: Iterable[StationChange]) -> str:
    """The changes as a what-if CSV (WGS-84) that :func:`read_changes` and ``nuanxin coverage
    --what-if`` read back unchanged."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for c in changes:
        lon = "" if c.lon is None else f"{c.lon:.7f}"
        lat = "" if c.lat is None else f"{c.lat:.7f}"
        writer.writerow([c.action, c.station_id or "", c.name or "", c.kind, lon, lat,
                         c.opening_hours or ""])  # fmt: skip
    return out.getvalue()


def check_inside(changes: Iterable[StationChange], boundaries: geopandas.GeoDataFrame) -> None:
    """Refuse an added or moved station outside every boundary analysed: it could only be a
    slip of the mouse or of a column, and would change nothing on the page."""
    points = [(c, Point(c.lon, c.lat)) for c in changes if c.lon is not None and c.lat is not None]
    if not points:
        return
    area = shapely.union_all(boundaries.geometry.to_numpy())
    shapely.prepare(area)
    outside = [f"{c.where}: {c.lon:.5f}, {c.lat:.5f} is outside every boundary analysed"
               for c, point in points if not area.covers(point)]  # fmt: skip
    if outside:
        raise InvalidInputError("; ".join(outside), field="what_if")


def apply_changes(stations: geopandas.GeoDataFrame,
                  changes: Iterable[StationChange]) -> geopandas.GeoDataFrame:  # fmt: skip
    """A copy of ``stations`` (keyed by ``external_id``) with the changes made, in order."""
    out = stations.copy()
    ids = out["external_id"].astype(str)
    added = []
    for number, change in enumerate(changes, start=1):
        if change.action == "add":
            added.append({
                "external_id": change.station_id or f"what-if-{number}",
                "name": change.name or f"what-if station {number}", "kind": change.kind,
                "status": StationStatus.OPEN.value, "opening_hours": change.opening_hours,
                "geometry": Point(change.lon, change.lat),
            })  # fmt: skip
            continue
        match = (ids == change.station_id).to_numpy()
        if not match.any():
            raise InvalidInputError(f"{change.where}: no station with id {change.station_id!r}",
                                    field="what_if")  # fmt: skip
        if change.action == "move":
            out.loc[match, "geometry"] = Point(change.lon, change.lat)
        elif change.action == "open":
            out.loc[match, "status"] = StationStatus.OPEN.value
        else:
            out.loc[match, "status"] = StationStatus.CLOSED.value
    if added:
        extra = geopandas.GeoDataFrame(added, geometry="geometry", crs=out.crs or 4326)
        out = geopandas.GeoDataFrame(pd.concat([out, extra], ignore_index=True), crs=out.crs)
    return out


def compare(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per boundary: each figure before, after and the change (after − before).

    Both are ``CoverageResult.per_boundary`` tables of the same boundaries. Ordered by the
    change in uncovered residents, largest improvement first.
    """
    left, right = before.set_index("code"), after.set_index("code").reindex(before["code"])
    table = pd.DataFrame({"code": before["code"].to_numpy(), "name": before["name"].to_numpy()})
    for column in COMPARED:
        if column in left and column in right:
            was, now = left[column].to_numpy(np.float64), right[column].to_numpy(np.float64)
            table[f"{column}_before"], table[f"{column}_after"] = was, now
            with np.errstate(invalid="ignore"):
                table[f"{column}_change"] = now - was
    return table.sort_values("uncovered_residents_change", kind="stable").reset_index(drop=True)


def newly_within(comparison: pd.DataFrame) -> dict[str, float | None]:
    """In total, the residents and workers a plan brings within a walk (``None`` where no
    boundary has that figure, e.g. residents before a population is imported)."""
    out: dict[str, float | None] = {}
    for people in ("residents", "workers"):
        column = f"uncovered_{people}_change"
        values = comparison[column] if column in comparison else pd.Series(dtype=float)
        out[people] = None if values.isna().all() else float(-values.sum(skipna=True))
    return out
