"""Layer versions: a number per map layer that changes whenever the layer's table changes.

Statement-level triggers on ``stations`` and ``boundaries`` (INSERT, UPDATE, DELETE, TRUNCATE)
give the layer a new version from a sequence. The tile server reads the version on every
request and keys its cache and ETags by it, so an edit committed by any process (an import,
another API worker, psql) is visible on the very next tile request.

Versions come from a sequence, which never rolls back: a version number is never reused, even
by a transaction that was rolled back after it rendered tiles. Statements that change no row
(an import re-run with nothing new) leave the version alone, thanks to transition tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> layer whose tiles it feeds
LAYERS = {"stations": "stations", "boundaries": "boundaries"}
# Transition tables allow one event per trigger, so each table gets one trigger per event.
EVENTS = {
    "insert": "REFERENCING NEW TABLE AS changed_rows",
    "update": "REFERENCING NEW TABLE AS changed_rows",
    "delete": "REFERENCING OLD TABLE AS changed_rows",
    "truncate": "",
}


def upgrade() -> None:
    op.execute("CREATE SEQUENCE layer_version_seq")
    op.create_table(
        "layer_versions",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False,
                  server_default=sa.text("nextval('layer_version_seq')")),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("layer", name=op.f("pk_layer_versions")),
    )
    op.execute(
        "INSERT INTO layer_versions (layer) VALUES "
        + ", ".join(f"('{layer}')" for layer in LAYERS.values())
    )
    op.execute(
        """
        CREATE FUNCTION nuanxin_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'TRUNCATE' THEN
                IF NOT EXISTS (SELECT 1 FROM changed_rows) THEN
                    RETURN NULL;
                END IF;
            END IF;
            INSERT INTO layer_versions AS lv (layer, version, changed_at)
            VALUES (TG_ARGV[0], nextval('layer_version_seq'), clock_timestamp())
            ON CONFLICT (layer) DO UPDATE
               SET version = excluded.version, changed_at = excluded.changed_at;
            RETURN NULL;
        END $$
        """
    )
    for table, layer in LAYERS.items():
        for event, referencing in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {table}_bump_layer_version_{event} AFTER {event.upper()} "
                f"ON {table} {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION nuanxin_bump_layer_version('{layer}')"
            )


def downgrade() -> None:
    for table in LAYERS:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {table}_bump_layer_version_{event} ON {table}")
    op.execute("DROP FUNCTION nuanxin_bump_layer_version()")
    op.drop_table("layer_versions")
    op.execute("DROP SEQUENCE layer_version_seq")
