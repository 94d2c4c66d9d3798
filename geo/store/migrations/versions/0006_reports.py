"""Worker reports: "closed", "full", "no hot water", "turned away", "wrong location", "it's open".

Public and anonymous, so the client is kept only as a salted hash (for rate limits), never as an
address. Editors moderate; an accepted "open" confirmation sets the station's last_verified_at.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("closed", "full", "no_hot_water", "turned_away", "wrong_location", "confirmed_open")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("client_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("moderated_by", sa.Text(), nullable=True),
        sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('" + "', '".join(KINDS) + "')", name=op.f("ck_reports_kind")),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected')",
                           name=op.f("ck_reports_status")),
        sa.CheckConstraint("length(note) <= 500", name=op.f("ck_reports_note_length")),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"],
                                name=op.f("fk_reports_station_id_stations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_client_hash_created_at", "reports", ["client_hash", "created_at"])
    op.create_index("ix_reports_status_station_id", "reports", ["status", "station_id"])


def downgrade() -> None:
    op.drop_index("ix_reports_status_station_id", table_name="reports")
    op.drop_index("ix_reports_client_hash_created_at", table_name="reports")
    op.drop_table("reports")
