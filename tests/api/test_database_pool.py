"""The pool releases connections without asyncpg's reset query, so what must not leak is checked.

The app relies on asyncpg still rolling back a transaction left open, and on its own settings
being transaction-local: a request's actor must never be seen by the next request.
"""

from __future__ import annotations

import pytest

from api.runtime.database import open_pool

pytestmark = pytest.mark.anyio


async def test_a_released_connection_carries_no_transaction_and_no_actor(database_url, engine):
    pool = await open_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")  # left open, as by a request that failed midway
            await conn.execute("SELECT set_config('nuanxin.actor', 'api:someone', true)")
            first = conn.get_server_pid()
        async with pool.acquire() as conn:
            assert conn.get_server_pid() == first  # the same connection, reused
            assert not conn.is_in_transaction()
            actor = await conn.fetchval("SELECT current_setting('nuanxin.actor', true)")
            assert actor in (None, "")
    finally:
        await pool.close()
