"""Row history: every UPDATE of a station, enterprise or boundary records what changed.

A trigger writes ``{column: [old, new]}`` for the columns that really changed, with the actor
taken from the ``nuanxin.actor`` setting (importers set ``import:<file>``), so history is kept
whoever changes a row: importers, the API later, or psql.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("boundaries", "stations", "enterprises")


def upgrade() -> None:
    op.create_table(
        "row_history",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=True),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_row_history")),
    )
    op.create_index("ix_row_history_table_name_row_id", "row_history", ["table_name", "row_id"])
    op.execute(
        """
        CREATE FUNCTION nuanxin_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_row jsonb := to_jsonb(OLD) - 'updated_at' - 'created_at';
            new_row jsonb := to_jsonb(NEW) - 'updated_at' - 'created_at';
            diff jsonb := '{}'::jsonb;
            key text;
        BEGIN
            FOR key IN SELECT jsonb_object_keys(new_row) LOOP
                IF old_row -> key IS DISTINCT FROM new_row -> key THEN
                    diff := diff || jsonb_build_object(
                        key, jsonb_build_array(old_row -> key, new_row -> key));
                END IF;
            END LOOP;
            IF diff <> '{}'::jsonb THEN
                INSERT INTO row_history (table_name, row_id, changed_by, changes)
                VALUES (TG_TABLE_NAME, NEW.id, current_setting('nuanxin.actor', true), diff);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_record_history AFTER UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION nuanxin_record_history()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_record_history ON {table}")
    op.execute("DROP FUNCTION nuanxin_record_history()")
    op.drop_index("ix_row_history_table_name_row_id", table_name="row_history")
    op.drop_table("row_history")
