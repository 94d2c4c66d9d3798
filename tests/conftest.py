"""Test setup: a throwaway database on a real PostGIS, and a rolled-back transaction per test.

The server is the project's own local cluster (started here if needed) or the one named by
``NUANXIN_TEST_DATABASE_URL``. Each run creates its own database and drops it at the end, so
runs never share state. Without a server a database test skips locally; under ``CI=true``
it fails, and any skipped test at all fails the run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, nullcontext
from functools import partial
from pathlib import Path

import asyncpg
import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_acquire, get_connection, get_read_connection
from geo.config import DEV_TOKEN_SECRET, PROJECT_ROOT, LocalDbSettings, Settings
from geo.errors import GeoError
from geo.importers.bundled import load_bundled
from geo.importers.files import ImportKind, import_file
from geo.store import migrate
from geo.store.db import make_engine, session_scope
from geo.store.localdb import ensure_local_database
from geo.store.tokens import secret_hash
from tests.browser import served

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_BEIJING = Path(__file__).resolve().parents[2] / "shared" / "data" / "beijing"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _server_url() -> str:
    explicit = os.environ.get("NUANXIN_TEST_DATABASE_URL")
    if explicit:
        return explicit
    return ensure_local_database(LocalDbSettings())


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a fresh, migrated database for this test run (dropped afterwards)."""
    try:
        server = _server_url()
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
            admin.execute("SELECT 1")
    except (GeoError, psycopg.Error, OSError) as exc:
        message = f"no PostGIS server for tests: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"nuanxin_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server, name)
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate_with_tiny_data(engine: Engine) -> None:
    """Schema to head, then the tiny fixtures (boundaries, stations, enterprises), committed."""
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        for kind, file in [
            (ImportKind.BOUNDARIES, "boundaries_tiny.geojson"),
            (ImportKind.STATIONS, "stations_tiny.geojson"),
            (ImportKind.ENTERPRISES, "enterprises_tiny.geojson"),
        ]:
            import_file(session, FIXTURES / file, kind, strict=True)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate_with_tiny_data(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test, whatever it did."""
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session
        transaction.rollback()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(environment="test", database_url=database_url)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api_conn(settings: Settings, engine: Engine) -> AsyncIterator[asyncpg.Connection]:
    """The one connection the app uses during a test, inside a transaction rolled back after."""
    assert settings.database_url
    connection = await asyncpg.connect(settings.database_url)
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


@asynccontextmanager
async def app_client(app: FastAPI, conn: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of ``app`` whose every request uses ``conn`` (no lifespan, no pool)."""

    async def same_connection() -> AsyncIterator[asyncpg.Connection]:
        yield conn

    app.dependency_overrides[get_connection] = same_connection
    app.dependency_overrides[get_acquire] = lambda: partial(nullcontext, conn)
    app.dependency_overrides[get_read_connection] = same_connection
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def client(
    settings: Settings, api_conn: asyncpg.Connection
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings), api_conn) as http:
        yield http


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped test is a test that did not run: fail the run loudly."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped and exitstatus == 0:
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) skipped; failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="module")
def scratch_database_url(database_url: str) -> Iterator[str]:
    """A second, empty database (no schema) for tests that commit or migrate by themselves."""
    server = database_url
    name = f"nuanxin_scratch_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def tiny_database_url(scratch_database_url: str) -> str:
    """The module's scratch database, migrated and holding the tiny fixtures (committed): for
    tests whose writes go through other connections than the rolled-back test one."""
    engine = make_engine(scratch_database_url)
    try:
        migrate_with_tiny_data(engine)
    finally:
        engine.dispose()
    return scratch_database_url


def token_headers(url: str, name: str, role: str = "admin",
                  district: str | None = None) -> dict[str, str]:  # fmt: skip
    """A committed API token in database ``url``, as request headers."""
    secret = f"{name}-secret-0123456789abcdef"
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO api_tokens (name, role, district_code, secret_hash) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            (name, role, district, secret_hash(secret, DEV_TOKEN_SECRET)),
        ).fetchone()
    assert row is not None
    return {"Authorization": f"Bearer nx_{row[0]}_{secret}"}


@pytest.fixture(scope="module")
def bundled_database_url(scratch_database_url: str) -> str:
    """The module's scratch database, migrated and holding the bundled data (committed)."""
    engine = make_engine(scratch_database_url)
    migrate.upgrade(engine)
    load_bundled(engine, PROJECT_ROOT / "data")
    engine.dispose()
    return scratch_database_url


@pytest.fixture(scope="module")
def bundled_server(bundled_database_url: str) -> Iterator[str]:
    """A real server (uvicorn, a free port) on the bundled data; yields its base URL."""
    with served(Settings(environment="test", database_url=bundled_database_url)) as base:
        yield base
