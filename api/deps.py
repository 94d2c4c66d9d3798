"""Dependencies, aliased so route signatures read as prose (``conn: ConnectionDep``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from geo.config import Settings


async def get_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection:
        yield connection


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ConnectionDep = Annotated[asyncpg.Connection, Depends(get_connection)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
