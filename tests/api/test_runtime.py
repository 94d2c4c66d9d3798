"""The app's lifetime state: one typed owner, one reader of layer versions, shared statements."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import Engine

from api.app import create_app
from api.fastpath import route_path
from api.runtime.caches import LruCache
from api.runtime.database import compiled, fetch
from api.runtime.freshness import read_versions, versions_now
from api.runtime.services import Services, services_of
from geo.config import Settings
from geo.store.frames import STATIONS_QUERY, boundaries_query, load_boundaries, load_stations


def test_the_app_keeps_one_typed_services_object_on_its_state(settings: Settings) -> None:
    app = create_app(settings)
    assert set(app.state._state) == {"services"}  # nothing else, nothing created lazily
    services = services_of(app)
    assert isinstance(services, Services)
    assert services.settings is settings
    assert services.pool is None and services.versions is None  # filled by the lifespan only


@pytest.mark.parametrize(
    ("path", "root", "routed"),
    [("/locate", "", "/locate"), ("/nuanxin/locate", "/nuanxin", "/locate"),
     ("/nuanxin", "/nuanxin", ""), ("/nuanxinx/locate", "/nuanxin", "/nuanxinx/locate"),
     ("/other/locate", "/nuanxin", "/other/locate")],
)  # fmt: skip
def test_route_path_strips_the_mount_point_only_at_a_segment(path: str, root: str,
                                                              routed: str) -> None:  # fmt: skip
    assert route_path({"path": path, "root_path": root}) == routed


def test_the_lru_cache_keeps_the_most_recently_used() -> None:
    cache: LruCache[str] = LruCache(entries=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now b is the oldest
    cache.put("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")
    assert len(cache) == 2


def test_compiled_statements_bind_each_named_value_once() -> None:
    sql, args = compiled(boundaries_query(level="district", vintage="2023",
                                          codes=["110106000000"], shape_deg=0.001))  # fmt: skip
    assert args == [0.001, "district", "2023", ["110106000000"]]
    assert ":vintage" not in sql and "$3" in sql


@pytest.mark.anyio
async def test_the_api_reads_the_rows_the_cli_reads(api_conn: asyncpg.Connection,
                                                    engine: Engine) -> None:  # fmt: skip
    rows = await fetch(api_conn, boundaries_query(codes=["110106000000"]))
    with engine.connect() as conn:
        expected = load_boundaries(conn, codes=["110106000000"])
        stations = load_stations(conn)
    assert [r["code"] for r in rows] == list(expected["code"])
    listed = [(r["external_id"], r["lon"], r["lat"]) for r in await fetch(api_conn, STATIONS_QUERY)]
    assert listed == [(e, p.x, p.y) for e, p in zip(stations["external_id"],
                                                    stations.geometry, strict=True)]  # fmt: skip


@pytest.mark.anyio
async def test_versions_move_with_an_edit_and_are_read_without_a_lifespan(
    api_conn: asyncpg.Connection,
) -> None:
    before = await versions_now(None, api_conn)
    assert set(await read_versions(api_conn, ["stations"])) <= {"stations"}
    await api_conn.execute("UPDATE stations SET name = name || ' ' WHERE external_id = 's1'")
    after = await versions_now(None, api_conn)
    assert after["stations"][0] > before.get("stations", (0, ""))[0]
    assert after.get("boundaries") == before.get("boundaries")
