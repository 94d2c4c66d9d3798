"""The asyncpg pool (opened in the app's lifespan, kept in ``Services``) and SQLAlchemy
statements compiled for it."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_ASYNCPG = PGDialect_asyncpg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (advisory unlocks, CLOSE ALL, UNLISTEN,
    RESET ALL): a round trip on every request, undoing state this app never creates. Its
    settings are transaction-local (``set_config(…, true)``) and it takes no advisory locks;
    asyncpg still rolls back a transaction left open before calling this."""


async def open_pool(url: str, *, max_size: int = 10, name: str = "nuanxin-api") -> asyncpg.Pool:
    """A pool that connects lazily (``min_size=0``): the app starts even while the DB is down.
    ``name`` is its connections' ``application_name`` (``pg_stat_activity`` tells them apart)."""
    return await asyncpg.create_pool(
        url, min_size=0, max_size=max_size, command_timeout=15, timeout=5,
        server_settings={"application_name": name}, reset=_keep_session,
    )  # fmt: skip


def compiled(statement: ClauseElement) -> tuple[str, list[Any]]:
    """A SQLAlchemy statement (e.g. one of :mod:`geo.store.frames`) as asyncpg's SQL text and
    positional arguments, so the API runs the very statements the CLI runs."""
    compiled = statement.compile(dialect=_ASYNCPG)
    assert isinstance(compiled, SQLCompiler)  # a statement, not DDL
    return compiled.string, [compiled.params[name] for name in compiled.positiontup or ()]


async def fetch(conn: asyncpg.Connection, statement: ClauseElement) -> list[asyncpg.Record]:
    sql, args = compiled(statement)
    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return rows
