"""Can I get in? How a worker enters a place, and who may.

* ``stations.access``: the ways in, drawn from :class:`geo.vocab.Access` (open door, ring,
  ID card, member QR code, union card, face registration); empty: not recorded.
* ``stations.access_condition``: who may enter if not everyone ("registered riders only").

Workers turned away at a code lock are a documented failure of such networks: the locator
shows how to get in next to the hours and can keep only places anyone may walk into.
A downgrade refuses while any place records either (dropping them would lose staff's work).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration keeps the vocabulary it was written with.
_ACCESS = ("open_door", "ring", "id_card", "member_qr", "union_card", "face_registration")
_CONDITION_MAX = 200


def upgrade() -> None:
    op.add_column("stations", sa.Column("access", postgresql.ARRAY(sa.Text()),
                                        server_default=sa.text("'{}'"), nullable=False))  # fmt: skip
    op.add_column("stations", sa.Column("access_condition", sa.Text(), nullable=True))
    listed = ", ".join(f"'{a}'" for a in _ACCESS)
    op.create_check_constraint(op.f("ck_stations_access"), "stations",
                               f"access <@ ARRAY[{listed}]::text[]")  # fmt: skip
    op.create_check_constraint(
        op.f("ck_stations_access_condition_length"), "stations",
        f"access_condition IS NULL OR length(btrim(access_condition)) BETWEEN 1 AND {_CONDITION_MAX}",
    )


def downgrade() -> None:
    recorded = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM stations WHERE access <> '{}' OR access_condition IS NOT NULL"
    )).scalar_one()  # fmt: skip
    if recorded:
        raise RuntimeError(f"{recorded} places record how to get in, which revision 0009 cannot "
                           "hold; export them first")  # fmt: skip
    op.drop_constraint(op.f("ck_stations_access_condition_length"), "stations", type_="check")
    op.drop_constraint(op.f("ck_stations_access"), "stations", type_="check")
    op.drop_column("stations", "access_condition")
    op.drop_column("stations", "access")
