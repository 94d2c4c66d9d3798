"""Workers' reports say what they find most: a place locked within its hours, no toilet,
hours shorter than it states.

``reports.kind`` gains ``locked``, ``no_toilet`` and ``short_hours``. A downgrade refuses while
reports of those kinds exist (dropping them would lose what workers said).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("closed", "full", "no_hot_water", "turned_away", "wrong_location", "confirmed_open")
_ADDED = ("locked", "no_toilet", "short_hours")


def _kinds(kinds: Sequence[str]) -> str:
    return "kind IN ('" + "', '".join(kinds) + "')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_reports_kind"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_kind"), "reports", _kinds(_OLD + _ADDED))


def downgrade() -> None:
    added = op.get_bind().execute(
        sa.text("SELECT count(*) FROM reports WHERE " + _kinds(_ADDED))
    ).scalar_one()
    if added:
        raise RuntimeError(f"{added} reports are of kinds {', '.join(_ADDED)}, which revision "
                           "0007 cannot hold; export or moderate them first")  # fmt: skip
    op.drop_constraint(op.f("ck_reports_kind"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_kind"), "reports", _kinds(_OLD))
