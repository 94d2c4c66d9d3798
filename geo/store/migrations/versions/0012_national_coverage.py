"""National coverage runs: county and province figures written in bulk for /coverage/national.

A run of ``nuanxin coverage --scope national|province --store`` adds one ``national_runs``
row (its scope, parameters and method) and one ``national_figures`` row per county and per
province, with a simplified outline, so the API serves a finished run without recomputing it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "national_runs",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),  # fmt: skip
        sa.Column("params", JSONB(), nullable=False),
        sa.Column("method", JSONB(), nullable=False),
    )
    op.create_table(
        "national_figures",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("national_runs.id", ondelete="CASCADE"),
                  nullable=False),  # fmt: skip
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("province", sa.Text(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),  # unmatched counties are not ranked
        sa.Column("figures", JSONB(), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
                  nullable=False),  # fmt: skip
        sa.PrimaryKeyConstraint("run_id", "level", "code"),
        sa.CheckConstraint("level IN ('county', 'province')", name="national_figures_level"),
    )
    op.create_index("ix_national_figures_run_level_rank", "national_figures",
                    ["run_id", "level", "rank"])  # fmt: skip
    op.create_geospatial_index("ix_national_figures_geom", "national_figures", ["geom"],
                               postgresql_using="gist")  # fmt: skip


def downgrade() -> None:
    op.drop_geospatial_index("ix_national_figures_geom", table_name="national_figures",
                             postgresql_using="gist", column_name="geom")  # fmt: skip
    op.drop_index("ix_national_figures_run_level_rank", table_name="national_figures")
    op.drop_table("national_figures")
    op.drop_table("national_runs")
