"""Editors upload an import file: the CLI's import, with the editors' district limit and audit.

``POST /imports/{kind}`` takes one file (multipart field ``file``) and runs exactly what
``nuanxin import`` runs (:func:`geo.importers.files.import_file`): the same readers, coordinate
conversion, validation and all-or-nothing transaction, and answers with the same report: every
rejected row with its line (or feature) and reason. Through the API, a district editor's rows
outside their district are rejected too, every row written is audited (revertible like an edit),
and only admins may import boundaries. ``dry_run`` checks a file without writing anything.

The importers use the synchronous psycopg driver (COPY), so the import runs in a worker thread
on its own short-lived engine; the body cap of the operations middleware bounds the file (413).
A thread cannot be cancelled, so an import that outlasts the request time limit rolls itself
back before committing: a client told "timed out" can trust that nothing was written.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import SettingsDep
from api.editing.auth import PrincipalDep
from api.editing.schemas import ImportResult, PopulationResult
from api.middleware import DEADLINE_KEY
from api.schemas import answer, json_answer
from geo.config import Settings
from geo.errors import ForbiddenError, InvalidInputError, LimitExceededError
from geo.importers._validate import report_as_dict
from geo.importers.audited import EditorImport
from geo.importers.boundaries import BOUNDARY_FORMATS
from geo.importers.coords import parse_source_crs
from geo.importers.files import POINT_FORMATS, ImportKind, import_file, row_defaults
from geo.importers.population import import_population
from geo.importers.tables import parse_mapping
from geo.store.db import make_engine, resolve_database_url
from geo.store.models import explain_integrity_error
from geo.store.tokens import Principal, Role
from geo.vocab import StationKind

router = APIRouter(tags=["editing"])
_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\-]+")
R = TypeVar("R")


POPULATION_FORMATS = frozenset({".csv", ".xlsx"})
# One upload is one file, and a Shapefile is several (.shp, .dbf, .prj…): boundaries take it
# zipped; points as GeoPackage, FlatGeobuf or GeoParquet instead.
UPLOAD_FORMATS = {ImportKind.BOUNDARIES: frozenset(BOUNDARY_FORMATS - {".shp"}),
                  ImportKind.STATIONS: frozenset(POINT_FORMATS - {".shp"}),
                  ImportKind.ENTERPRISES: frozenset(POINT_FORMATS - {".shp"})}  # fmt: skip


def safe_file_name(name: str | None, accepted: Iterable[str]) -> str:
    """The upload's own name, reduced to a plain file name with an accepted extension."""
    raw = Path((name or "").replace("\\", "/")).name
    suffix = Path(raw).suffix.lower()
    if suffix not in accepted:
        raise InvalidInputError(
            f"{raw or 'the file'}: unsupported format {suffix or '(none)'!r}; "
            f"use one of {sorted(accepted)}",
            field="file",
        )
    stem = _UNSAFE.sub("_", Path(raw).stem).strip("._") or "upload"
    return stem[:100] + suffix


def _deadline(request: Request, settings: Settings) -> float:
    """The request's deadline counts from its arrival (the body's upload included), less a
    margin for the middleware to answer, so the roll-back wins the race."""
    timeout = settings.api.request_timeout_s
    return float(request.scope.get(DEADLINE_KEY, time.monotonic() + timeout)) - 0.2 * timeout


@asynccontextmanager
async def _saved(file: UploadFile, name: str) -> AsyncIterator[Path]:
    """The upload written to a private temporary folder (gone afterwards), in chunks."""
    with tempfile.TemporaryDirectory(prefix="nuanxin-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            while chunk := await file.read(_CHUNK):
                out.write(chunk)
        yield path


def _in_transaction(settings: Settings, path: Path, work: Callable[[Session], R], dry_run: bool,
                    deadline: float) -> R:  # fmt: skip
    """``work`` in one transaction on a short-lived engine; rolled back on a dry run, an
    error, or when the request's time (``deadline``, monotonic) ran out before the commit."""
    engine = make_engine(resolve_database_url(settings))
    try:
        with Session(engine) as session, session.begin() as transaction:
            report = work(session)
            if time.monotonic() > deadline:
                transaction.rollback()
                raise LimitExceededError(
                    f"{path.name}: the import outlasted the request time limit and was rolled "
                    "back; nothing was written. Split the file, or use `nuanxin import`"
                )
            if dry_run:
                transaction.rollback()
            return report
    except IntegrityError as exc:
        field, message = explain_integrity_error(exc)
        raise InvalidInputError(f"{path.name}: {message}; nothing written", field=field) from exc
    finally:
        engine.dispose()


def _editor(who: Principal, kind: ImportKind) -> EditorImport:
    if kind is ImportKind.BOUNDARIES and who.role is not Role.ADMIN:
        raise ForbiddenError("only admins may import boundaries")
    district = None if who.role is Role.ADMIN else who.district_code
    return EditorImport(actor=who.name, district_code=district)


# Registered before /imports/{kind}: the first matching path wins.
@router.post(
    "/imports/population",
    summary="Import residents per boundary (admins; editors may check a file with dry_run)",
    response_description="what was written, and every rejected row with its line and reason",
    responses={200: answer(PopulationResult)},
)
async def upload_population(
    request: Request,
    who: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX keyed by code or by name")],
    level: Annotated[str, Query(max_length=40, description="level the figures are for")] = (
        "subdistrict"
    ),
    vintage: Annotated[str | None, Query(max_length=100, description="boundary edition")] = None,
    year: Annotated[int | None, Query(ge=1950, le=2100, description="census year")] = None,
    source: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    strict: Annotated[bool, Query(description="refuse the whole file on any bad row")] = False,
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
) -> Response:
    """The CLI's ``nuanxin import population`` (districts' totals spread over their
    subdistricts by area), with the same report."""
    if who.role is not Role.ADMIN and not dry_run:
        raise ForbiddenError("only admins may import populations; editors may use dry_run")
    deadline = _deadline(request, settings)
    name = safe_file_name(file.filename, POPULATION_FORMATS)
    options: dict[str, Any] = {"level": level, "vintage": vintage, "year": year,
                               "source": source, "strict": strict}  # fmt: skip
    async with _saved(file, name) as path:
        report = await run_in_threadpool(
            _in_transaction, settings, path,
            lambda session: import_population(session, path, **options), dry_run, deadline,
        )  # fmt: skip
    return json_answer({
        "file": report.file, "year": report.year, "written": report.written,
        "direct": report.direct, "spread": report.spread, "spread_over": report.spread_over,
        "skipped_other_years": report.skipped_other_years,
        "ignored_columns": list(report.ignored_columns), "methods": list(report.methods),
        "rejected": [item.__dict__ for item in report.rejected], "summary": report.summary(),
        "dry_run": dry_run,
    })  # fmt: skip


@router.post(
    "/imports/{kind}",
    summary="Import a file (editors): the CLI's validation and report, audited",
    response_description="the import report: counts, and every rejected row with its reason",
    responses={200: answer(ImportResult)},
)
async def upload_import(
    request: Request,
    kind: ImportKind,
    who: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="GeoJSON, CSV or XLSX (boundaries: also SHP…)")],
    crs: Annotated[
        str, Query(max_length=40, description="wgs84 | gcj02 | bd09 | cgcs2000 | EPSG:n")
    ] = "wgs84",
    source: Annotated[
        str | None, Query(min_length=1, max_length=100, description="source of rows without one")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        Query(
            alias="map",
            max_length=50,
            examples=[["驿站名=name"]],
            description="as the CLI's --map: 'header=field' ('header=' drops it); repeatable",
        ),
    ] = None,
    level: Annotated[
        str | None, Query(max_length=40, description="boundaries: level of rows without one")
    ] = None,
    vintage: Annotated[
        str | None, Query(max_length=100, description="boundaries: vintage of rows without one")
    ] = None,
    ignore_unknown: Annotated[
        bool, Query(description="boundaries: drop unmapped columns instead of refusing")
    ] = False,
    default_kind: Annotated[
        StationKind | None, Query(description="stations: kind of rows without one")
    ] = None,
    strict: Annotated[bool, Query(description="refuse the whole file on any bad row")] = False,
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
) -> Response:
    deadline = _deadline(request, settings)
    editor = _editor(who, kind)
    name = safe_file_name(file.filename, UPLOAD_FORMATS[kind])
    if mapping and any(len(pair) > 200 for pair in mapping):
        raise InvalidInputError("each map pair may be at most 200 characters", field="map")
    defaults = row_defaults(kind, source=source, level=level, vintage=vintage,
                            station_kind=default_kind, kind_option="default_kind")  # fmt: skip
    options: dict[str, Any] = {"strict": strict, "crs": parse_source_crs(crs),
                               "mapping": parse_mapping(mapping or []), "defaults": defaults,
                               "ignore_unknown": ignore_unknown}  # fmt: skip
    async with _saved(file, name) as path:
        report = await run_in_threadpool(
            _in_transaction, settings, path,
            lambda session: import_file(session, path, kind, editor=editor, **options),
            dry_run, deadline,
        )  # fmt: skip
    return json_answer({**report_as_dict(report), "dry_run": dry_run})
