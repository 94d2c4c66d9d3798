"""How the API is served: uvicorn's options from the settings, in one place for the CLI and
the tests (so a test server trusts proxies exactly as ``nuanxin serve`` does).

Proxy headers are read by uvicorn's own ``ProxyHeadersMiddleware``, and only from the
addresses in ``trusted_proxies``: from anyone else ``X-Forwarded-For`` would let a client pick
its own address (and so its own rate-limit bucket) and ``X-Forwarded-Proto`` its links' scheme.
"""

from __future__ import annotations

from typing import Any

from geo.config import ApiSettings

GRACEFUL_S = 10  # requests in flight may finish this long after SIGTERM


def uvicorn_options(api: ApiSettings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` (the app aside)."""
    trusted = [address.strip() for address in api.trusted_proxies if address.strip()]
    return {
        "host": api.host,
        "port": api.port,
        "workers": api.workers,
        "root_path": api.root_path,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "log_config": None,
        "timeout_graceful_shutdown": GRACEFUL_S,
    }
