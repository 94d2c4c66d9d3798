"""Row validation shared by every importer: good rows become records, bad ones rejections."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Rejection:
    """One refused row: where it is (file, line or feature number, column) and why."""

    file: str
    location: str
    column: str | None
    reason: str


@dataclass(frozen=True)
class ImportReport:
    file: str
    kind: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)
    # Rows that were written but deserve a look (repaired polygon, point outside every area).
    warnings: tuple[Rejection, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.file}: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected"
            + (f", {len(self.warnings)} warnings" if self.warnings else "")
        )


@dataclass(frozen=True)
class SourceRow:
    """A raw row and where it came from, before validation."""

    location: str
    values: Mapping[str, Any]


def _describe(error: ValidationError) -> list[tuple[str | None, str]]:
    described = []
    for item in error.errors():
        column = ".".join(str(part) for part in item["loc"]) or None
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        shown = item.get("input")
        if item["type"] != "missing" and isinstance(shown, str | int | float):
            message = f"{message} (got {shown!r})"
        described.append((column, message))
    return described


Progress = Callable[[int, int], None]  # (rows done, rows in all)
PROGRESS_EVERY = 500


def validate_rows(
    rows: Sequence[SourceRow], model: type[R], file: str, on_progress: Progress | None = None
) -> tuple[list[tuple[SourceRow, R]], list[Rejection]]:
    """Validate each row against ``model``; every problem of a bad row is reported."""
    good: list[tuple[SourceRow, R]] = []
    bad: list[Rejection] = []
    for done, row in enumerate(rows, start=1):
        if on_progress and (done % PROGRESS_EVERY == 0 or done == len(rows)):
            on_progress(done, len(rows))
        try:
            good.append((row, model.model_validate(dict(row.values))))
        except ValidationError as exc:
            bad.extend(
                Rejection(file, row.location, column, reason) for column, reason in _describe(exc)
            )
    return good, bad


def in_file_order(rejected: Iterable[Rejection]) -> list[Rejection]:
    """Sort by the number in the location ("feature 7", "line 12"), the order a fixer reads."""

    def position(item: Rejection) -> tuple[int, str]:
        digits = "".join(ch if ch.isdigit() else " " for ch in item.location).split()
        return (int(digits[0]) if digits else 0, item.location)

    return sorted(rejected, key=position)


def write_rejections(report: ImportReport, path: Path) -> Path:
    """Write the rejected rows next to the input as CSV, for the person fixing the file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "location", "column", "reason"])
        for item in report.rejected:
            writer.writerow([item.file, item.location, item.column or "", item.reason])
    return path


def report_as_json(report: ImportReport) -> str:
    return json.dumps(report_as_dict(report), ensure_ascii=False, indent=2)


def report_as_dict(report: ImportReport) -> dict[str, Any]:
    """The report as plain values: what the CLI saves and the upload API answers."""
    return {
        "file": report.file,
        "kind": report.kind,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": [item.__dict__ for item in report.rejected],
        "warnings": [item.__dict__ for item in report.warnings],
    }
