"""Engine and session factories; nothing connects until asked.

One ``postgresql://`` URL names the database. SQLAlchemy with psycopg 3 serves the CLI,
importers and migrations; the API talks to an asyncpg pool directly (``api/runtime/database.py``),
the fastest path for its few hot, hand-written queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from geo.config import Settings
from geo.errors import InvalidInputError
from geo.store.localdb import ensure_local_database


def _with_driver(url: str, driver: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return f"postgresql+{driver}://" + url.removeprefix(prefix)
    raise InvalidInputError("database URL must start with postgresql://", field="database_url")


def sync_url(url: str) -> str:
    return _with_driver(url, "psycopg")


def resolve_database_url(settings: Settings) -> str:
    """The configured URL, or the project's local cluster (created and started if needed)."""
    if settings.database_url:
        return settings.database_url
    return ensure_local_database(settings.local_db)


def make_engine(url: str) -> Engine:
    return create_engine(sync_url(url), pool_pre_ping=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed if the block succeeds, rolled back (nothing written) if not."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
