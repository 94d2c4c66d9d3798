"""Editors write enterprises too: soft deletes, and audit entries from uploads.

* ``enterprises.deleted_at``: as for stations, a delete is soft; public queries, coverage and
  exports skip deleted rows, and an admin can revert it.
* ``audit_log.action`` gains ``import``: a row written by a file uploaded through the API is
  audited one entry per changed row (before and after), so an admin can revert it like an edit.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_ACTIONS = ("create", "update", "close", "delete", "revert")
_NEW_ACTIONS = (*_OLD_ACTIONS, "import")


def _actions(actions: Sequence[str]) -> str:
    return "action IN ('" + "', '".join(actions) + "')"


def upgrade() -> None:
    op.add_column("enterprises", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f("ck_audit_log_action"), "audit_log", type_="check")
    op.create_check_constraint(op.f("ck_audit_log_action"), "audit_log", _actions(_NEW_ACTIONS))


def downgrade() -> None:
    op.execute("DELETE FROM audit_log WHERE action = 'import'")
    op.drop_constraint(op.f("ck_audit_log_action"), "audit_log", type_="check")
    op.create_check_constraint(op.f("ck_audit_log_action"), "audit_log", _actions(_OLD_ACTIONS))
    op.drop_column("enterprises", "deleted_at")
