"""Editing: API tokens with roles, an audit log of every write, soft deletes, private fields.

* ``api_tokens``: only a keyed hash of each secret is stored; a token is shown once, at creation.
  A district editor carries the district code whose boundary limits what they may change.
* ``audit_log``: who, when, what, the row before and after (without geometry: lon/lat instead);
  ``reverted_by`` links an entry to the revert that undid it.
* ``stations.deleted_at``: deletes are soft; public queries skip deleted rows.
* ``stations.contact_name``, ``contact_phone``, ``internal_notes``: for editors only, never in
  public output.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("district_code", sa.String(12), nullable=True),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'district_editor')", name=op.f("ck_api_tokens_role")),
        sa.CheckConstraint("role <> 'district_editor' OR district_code ~ '^[0-9]{12}$'",
                           name=op.f("ck_api_tokens_editor_has_district")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("before", postgresql.JSONB(), nullable=True),
        sa.Column("after", postgresql.JSONB(), nullable=True),
        sa.Column("reverted_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("action IN ('create', 'update', 'close', 'delete', 'revert')",
                           name=op.f("ck_audit_log_action")),
        sa.ForeignKeyConstraint(["reverted_by"], ["audit_log.id"],
                                name=op.f("fk_audit_log_reverted_by_audit_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_table_name_row_id", "audit_log", ["table_name", "row_id"])
    op.add_column("stations", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("stations", sa.Column("contact_name", sa.Text(), nullable=True))
    op.add_column("stations", sa.Column("contact_phone", sa.Text(), nullable=True))
    op.add_column("stations", sa.Column("internal_notes", sa.Text(), nullable=True))


def downgrade() -> None:
    for column in ("internal_notes", "contact_phone", "contact_name", "deleted_at"):
        op.drop_column("stations", column)
    op.drop_index("ix_audit_log_table_name_row_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
