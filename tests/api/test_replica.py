"""A real streaming replica: public reads come from it, writes and editors' reads from the
primary, and an edit reaches the public once the replica has replayed it (lag included).

The test setup makes both on this machine: a primary cluster of its own (the suite's database
is never touched), migrated and loaded with the bundled data, and a replica made from it with
``pg_basebackup -R`` (a standby streaming from the primary). Replay is paused to hold the lag
open: what the public sees then is the replica's, what the editor sees is the primary's.
Needs root, as the project's own cluster does.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from geo.config import PROJECT_ROOT, LocalDbSettings, Settings
from geo.importers.bundled import load_bundled
from geo.store import migrate
from geo.store.db import make_engine
from geo.store.localdb import SOCKET_DIR, ensure_local_database, installed_version
from tests.browser import served
from tests.conftest import token_headers

# Below the kernel's ephemeral range (32768-60999): a client socket of the suite's thousands of
# connections can hold any port in it, and a cluster started later would fail to bind.
PRIMARY = LocalDbSettings(cluster="nuanxin_primary", port=25341, database="replicated")
REPLICA, REPLICA_PORT = "nuanxin_replica", 25342
FENGTAI = "110106000000"
YONGCHANG = "永畅超市暖心驿站"  # bundled, open in Fengtai


def _pg(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=120)


def _drop(cluster: str) -> None:
    subprocess.run(["pg_dropcluster", "--stop", installed_version(), cluster],  # noqa: S607
                   check=False, capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture(scope="module")
def replicated() -> Iterator[tuple[str, str]]:
    """(primary URL, replica URL), the replica streaming and caught up."""
    version = installed_version()
    for cluster in (REPLICA, PRIMARY.cluster):  # a run that was killed may have left them
        _drop(cluster)
    try:
        primary = ensure_local_database(PRIMARY)
        engine = make_engine(primary)
        migrate.upgrade(engine)
        list(load_bundled(engine, PROJECT_ROOT / "data"))
        engine.dispose()
        _pg("pg_createcluster", version, REPLICA, "--port", str(REPLICA_PORT))
        data = Path("/var/lib/postgresql") / version / REPLICA
        shutil.rmtree(data)
        _pg("runuser", "-u", "postgres", "--", f"/usr/lib/postgresql/{version}/bin/pg_basebackup",
            "-h", SOCKET_DIR, "-p", str(PRIMARY.port), "-D", str(data), "-R", "-X", "stream",
            "-c", "fast")  # fmt: skip
        _pg("pg_ctlcluster", version, REPLICA, "start")
        replica = primary.replace(f":{PRIMARY.port}/", f":{REPLICA_PORT}/")
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(replica, connect_timeout=2) as conn:
                    assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
                    break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the replica did not come up"
                time.sleep(0.3)
        yield primary, replica
    finally:  # set-up failures included: never leave clusters behind
        _drop(REPLICA)
        _drop(PRIMARY.cluster)


def _name_on(url: str, station: int) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT name FROM stations WHERE id = %s", (station,)).fetchone()[0]


def _replay(replica: str, action: str) -> None:
    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute(f"SELECT pg_wal_replay_{action}()")


def test_public_reads_from_the_replica_writes_and_editors_from_the_primary(replicated):
    primary, replica = replicated
    with psycopg.connect(primary) as conn:
        station, lon, lat = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM stations WHERE name = %s", (YONGCHANG,)
        ).fetchone()
    near = {"lon": lon + 0.0003, "lat": lat, "open": "any", "k": 1}
    settings = Settings(environment="test", database_url=primary, database_read_url=replica)
    editor = token_headers(primary, "replica-editor", "district_editor", FENGTAI)
    renamed = "永畅超市暖心驿站（复制测试）"
    with served(settings) as base, httpx.Client(base_url=base, timeout=20) as http:
        assert http.get("/locate", params=near).json()["results"][0]["name"] == YONGCHANG
        with psycopg.connect(replica) as conn:  # the public reads hold replica connections
            reading = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                ("nuanxin-api-read",),
            ).fetchone()[0]
        assert reading >= 1

        _replay(replica, "pause")
        try:
            edit = http.patch(f"/stations/{station}", json={"name": renamed}, headers=editor)
            assert edit.status_code == 200, edit.text  # the replica is read-only: the primary
            assert (_name_on(primary, station), _name_on(replica, station)) == (renamed, YONGCHANG)
            # while the replica lags: the public sees its (consistent) state ...
            public = http.get("/stations?limit=5000").json()["features"]
            assert next(f for f in public if f["id"] == station)["properties"]["name"] == YONGCHANG
            assert http.get("/locate", params=near).json()["results"][0]["name"] == YONGCHANG
            # ... and the editor reads their own write, from the primary
            mine = http.get("/console/places", params={"q": "复制测试"}, headers=editor).json()
            assert [p["id"] for p in mine["places"]] == [station]
            assert http.get("/readyz").json()["replica_behind_bytes"] > 0  # the lag, in WAL
        finally:
            _replay(replica, "resume")

        deadline = time.monotonic() + 15  # replay catches up: then every public read has it
        while _name_on(replica, station) != renamed:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.1)
        public = http.get("/stations?limit=5000").json()["features"]
        assert next(f for f in public if f["id"] == station)["properties"]["name"] == renamed
        caught_up = time.monotonic()  # the locator may use a version read 50 ms old
        while http.get("/locate", params=near).json()["results"][0]["name"] != renamed:
            assert time.monotonic() - caught_up < 1.0, "the locator missed the replayed edit"
            time.sleep(0.01)
        deadline = time.monotonic() + 15
        while (ready := http.get("/readyz").json())["replica_behind_bytes"] != 0:
            assert time.monotonic() < deadline, ready
            time.sleep(0.1)
