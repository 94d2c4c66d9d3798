"""Jobs' heartbeats: a live worker's jobs survive a database restart.

A job is an orphan when its owner holds no lease (an advisory lock, see api/runtime/lease.py).
Every lease is lost at once when PostgreSQL restarts or the network blips, and is re-taken a
few seconds later: in that gap another worker would fail live jobs. ``jobs.heartbeat_at`` is
touched by the owner's lease every few seconds; a job is failed only when its owner holds no
lease and has not touched it for a grace period.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "heartbeat_at")
