"""Behind a reverse proxy: X-Forwarded-For and -Proto believed only from trusted addresses.

Tried as a new user would: with proxy headers ignored every client shares the proxy's address,
so five worker reports used the whole city's budget, and links said ``http://`` on an HTTPS
site. Each server here is a real uvicorn with the options ``nuanxin serve`` passes
(:func:`api.serving.uvicorn_options`); this test's client is the proxy, at 127.0.0.1.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest

from api.editing.reports import PER_CLIENT, WINDOW_MIN
from api.serving import uvicorn_options
from geo.config import ApiSettings, Settings
from tests.browser import served


def _settings(url: str, trusted: list[str]) -> Settings:
    return Settings(environment="test", database_url=url, api=ApiSettings(trusted_proxies=trusted))


def _station_ids(url: str, n: int) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id FROM stations WHERE status = 'open' ORDER BY id LIMIT %s", (n,)
        ).fetchall()
    return [r[0] for r in rows]


def _report(base: str, station: int, client: str) -> httpx.Response:
    return httpx.post(f"{base}/stations/{station}/reports", json={"kind": "confirmed_open"},
                      headers={"X-Forwarded-For": client}, timeout=20)  # fmt: skip


def _links(base: str) -> list[str]:
    landing = httpx.get(f"{base}/ogc", headers={"X-Forwarded-Proto": "https"}, timeout=20)
    return [link["href"] for link in landing.json()["links"]]


def test_from_a_trusted_proxy_each_client_has_its_own_budget_and_links_say_https(
    bundled_database_url,
):
    stations = _station_ids(bundled_database_url, PER_CLIENT + 2)
    with served(_settings(bundled_database_url, ["127.0.0.1"])) as base:
        for station in stations[:PER_CLIENT]:
            assert _report(base, station, "203.0.113.7").status_code == 202
        refused = _report(base, stations[PER_CLIENT], "203.0.113.7")
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW_MIN * 60
        # another worker behind the same proxy still has their whole budget
        assert _report(base, stations[PER_CLIENT], "203.0.113.8").status_code == 202
        links = _links(base)
        assert links and all(href.startswith("https://") for href in links), links


def test_from_anyone_else_the_headers_are_ignored(bundled_database_url):
    stations = _station_ids(bundled_database_url, PER_CLIENT + 1)
    with served(_settings(bundled_database_url, ["10.11.12.13"])) as base:
        for station in stations[:PER_CLIENT]:
            assert _report(base, station, "198.51.100.1").status_code == 202
        # a claimed new address buys no new budget: the peer's address is the client
        assert _report(base, stations[PER_CLIENT], "198.51.100.2").status_code == 429
        links = _links(base)
        assert links and all(href.startswith("http://") for href in links), links


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [([], (False, None)), (["10.0.0.0/8", " 127.0.0.1 "], (True, ["10.0.0.0/8", "127.0.0.1"]))],
)
def test_uvicorn_trusts_proxy_headers_only_when_proxies_are_named(trusted, expected):
    options = uvicorn_options(ApiSettings(trusted_proxies=trusted, workers=2, root_path="/nx"))
    assert (options["proxy_headers"], options["forwarded_allow_ips"]) == expected
    assert (options["workers"], options["root_path"]) == (2, "/nx")
