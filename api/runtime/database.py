"""The asyncpg pool, opened in the app's lifespan and kept on ``app.state``."""

from __future__ import annotations

import asyncpg


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (advisory unlocks, CLOSE ALL, UNLISTEN,
    RESET ALL): a round trip on every request, undoing state this app never creates. Its
    settings are transaction-local (``set_config(…, true)``) and it takes no advisory locks;
    asyncpg still rolls back a transaction left open before calling this."""


async def open_pool(url: str, *, max_size: int = 10) -> asyncpg.Pool:
    """A pool that connects lazily (``min_size=0``): the app starts even while the DB is down."""
    return await asyncpg.create_pool(
        url, min_size=0, max_size=max_size, command_timeout=15, timeout=5,
        server_settings={"application_name": "nuanxin-api"}, reset=_keep_session,
    )  # fmt: skip
