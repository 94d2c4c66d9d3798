"""Console sessions: an editor signs in once with their token and gets a cookie.

* ``console_sessions``: a session is a random id (only its SHA-256 is stored) for one API token,
  with its start (absolute expiry), its last use (idle expiry) and its end (signed out, or the
  token revoked). Kept in the database so every API worker and replica honours a sign-out.
* ``signin_attempts``: each try, by a salted hash of the client, to throttle guessing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.Text(), primary_key=True),
        sa.Column("token_id", sa.BigInteger(), sa.ForeignKey("api_tokens.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )  # fmt: skip
    op.create_index("ix_console_sessions_token_id", "console_sessions", ["token_id"])
    op.create_table(
        "signin_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("client_hash", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_signin_attempts_client_hash_at", "signin_attempts", ["client_hash", "at"])


def downgrade() -> None:
    op.drop_index("ix_signin_attempts_client_hash_at", table_name="signin_attempts")
    op.drop_table("signin_attempts")
    op.drop_index("ix_console_sessions_token_id", table_name="console_sessions")
    op.drop_table("console_sessions")
