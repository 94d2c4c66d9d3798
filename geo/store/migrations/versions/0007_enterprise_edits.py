"""Editors write enterprises too: soft deletes, and audit entries from uploads.

* ``enterprises.deleted_at``: as for stations, a delete is soft; public queries, coverage and
  exports skip deleted rows, and an admin can revert it.
* ``audit_log.action`` gains ``import``: a row written by a file uploaded through the API is
  audited one entry per changed row (before and after), so an admin can revert it like an edit.
* ``enterprises`` gets a layer version (migration 0003's triggers): cached coverage answers key
  on it. Editors now write enterprises through the API, and ``count || max(updated_at)`` could
  miss a change (``updated_at`` is a transaction's start, so a long upload commits older ones).

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

# as in migration 0003: transition tables allow one event per trigger
_EVENTS = {
    "insert": "REFERENCING NEW TABLE AS changed_rows",
    "update": "REFERENCING NEW TABLE AS changed_rows",
    "delete": "REFERENCING OLD TABLE AS changed_rows",
    "truncate": "",
}
_OLD_ACTIONS = ("create", "update", "close", "delete", "revert")
_NEW_ACTIONS = (*_OLD_ACTIONS, "import")


def _actions(actions: Sequence[str]) -> str:
    return "action IN ('" + "', '".join(actions) + "')"


def upgrade() -> None:
    op.add_column("enterprises", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f("ck_audit_log_action"), "audit_log", type_="check")
    op.create_check_constraint(op.f("ck_audit_log_action"), "audit_log", _actions(_NEW_ACTIONS))
    op.execute("INSERT INTO layer_versions (layer) VALUES ('enterprises')")
    for event, referencing in _EVENTS.items():
        op.execute(
            f"CREATE TRIGGER enterprises_bump_layer_version_{event} AFTER {event.upper()} "
            f"ON enterprises {referencing} "
            "FOR EACH STATEMENT EXECUTE FUNCTION nuanxin_bump_layer_version('enterprises')"
        )


def downgrade() -> None:
    for event in _EVENTS:
        op.execute(f"DROP TRIGGER enterprises_bump_layer_version_{event} ON enterprises")
    op.execute("DELETE FROM layer_versions WHERE layer = 'enterprises'")
    op.execute("DELETE FROM audit_log WHERE action = 'import'")
    op.drop_constraint(op.f("ck_audit_log_action"), "audit_log", type_="check")
    op.create_check_constraint(op.f("ck_audit_log_action"), "audit_log", _actions(_OLD_ACTIONS))
    op.drop_column("enterprises", "deleted_at")
