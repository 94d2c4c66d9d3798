"""Dependencies, aliased so route signatures read as prose (``conn: ConnectionDep``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from api.runtime.services import Services, services_of
from geo.config import Settings
from geo.errors import DatabaseUnavailableError


def get_services(request: Request) -> Services:
    return services_of(request.app)


async def _connection_of(pool: asyncpg.Pool | None) -> AsyncIterator[asyncpg.Connection]:
    if pool is None:
        raise DatabaseUnavailableError("the app was started without its database pool")
    async with pool.acquire() as connection:
        yield connection


async def get_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the primary: writes, and editors' reads. While it is out, and after, the
    locator reads versions afresh (see ``LayerVersions.recent``): an edit is in its next answer."""
    services = services_of(request.app)
    versions = services.versions
    if versions is not None:
        versions.write_began()
    try:
        async for connection in _connection_of(services.pool):
            yield connection
    finally:
        if versions is not None:
            versions.write_ended()


Acquire = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


async def get_read_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A connection for a public read: the replica's when there is one (see ``Services.reads``)."""
    async for connection in _connection_of(services_of(request.app).reads):
        yield connection


def get_acquire(request: Request) -> Acquire:
    """A way to take a connection later, only if the route needs one: the locator answers from
    memory without one, even while the database is down (a ``ConnectionDep`` would 503 first).
    Public reads: the replica's pool when there is one."""
    pool = services_of(request.app).reads
    if pool is None:
        raise DatabaseUnavailableError("the app was started without its database pool")
    acquire: Acquire = pool.acquire
    return acquire


def get_app_settings(request: Request) -> Settings:
    return services_of(request.app).settings


ServicesDep = Annotated[Services, Depends(get_services)]
ConnectionDep = Annotated[asyncpg.Connection, Depends(get_connection)]
AcquireDep = Annotated[Acquire, Depends(get_acquire)]
ReadConnectionDep = Annotated[asyncpg.Connection, Depends(get_read_connection)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
