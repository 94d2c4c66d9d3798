"""National siting runs: the proposed sites of ``nuanxin site --scope … --store``.

One ``national_sitings`` row per run (its scope, parameters, and the method with the added
residents, the bound and the proven gap) and one ``national_sites`` row per proposed site, so
the national planner's page shows a finished siting next to the coverage it answers.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "national_sitings",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),  # fmt: skip
        sa.Column("params", JSONB(), nullable=False),
        sa.Column("method", JSONB(), nullable=False),
    )
    op.create_table(
        "national_sites",
        sa.Column("siting_id", sa.Integer(),
                  sa.ForeignKey("national_sitings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("h3", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),  # the county the site lies in
        sa.Column("county", sa.Text(), nullable=False),
        sa.Column("province", sa.Text(), nullable=False),
        sa.Column("gain", sa.Float(), nullable=False),  # residents it adds, in rank order
        sa.Column("gain_alone", sa.Float(), nullable=False),  # residents it adds on its own
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.PrimaryKeyConstraint("siting_id", "rank"),
    )  # fmt: skip
    op.create_index("ix_national_sites_siting_province", "national_sites",
                    ["siting_id", "province"])  # fmt: skip
    op.create_geospatial_index("ix_national_sites_geom", "national_sites", ["geom"],
                               postgresql_using="gist")  # fmt: skip


def downgrade() -> None:
    op.drop_geospatial_index("ix_national_sites_geom", table_name="national_sites",
                             postgresql_using="gist", column_name="geom")  # fmt: skip
    op.drop_index("ix_national_sites_siting_province", table_name="national_sites")
    op.drop_table("national_sites")
    op.drop_table("national_sitings")
