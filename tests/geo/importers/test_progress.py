"""The import's progress (what ``nuanxin import`` draws its bar from): rows validated so far,
every ``PROGRESS_EVERY`` rows and at the end, bad rows counted like good ones."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from geo.importers._validate import PROGRESS_EVERY, SourceRow, validate_rows


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seats: int


def test_validation_reports_its_progress_up_to_every_row():
    total = 2 * PROGRESS_EVERY + 7
    rows = [SourceRow(f"line {n + 2}", {"seats": "x" if n % 100 == 0 else n}) for n in range(total)]
    seen: list[tuple[int, int]] = []
    good, bad = validate_rows(rows, _Row, "sheet.csv", lambda done, all_: seen.append((done, all_)))
    assert seen == [(PROGRESS_EVERY, total), (2 * PROGRESS_EVERY, total), (total, total)]
    assert len(good) + len(bad) == total and len(bad) == len(range(0, total, 100))
