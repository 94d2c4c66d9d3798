"""The web service: FastAPI routes, middleware, the asyncpg pool and what lives beside it.

Top-level modules are the app (``app``, ``services``, ``deps``, ``database``, ``errors``,
``middleware``, ``fastpath``, ``freshness``) and the small resources (``stations``,
``boundaries``, ``health``, ``pages``); subpackages group the larger ones. ``api`` may import
``maps`` and ``geo``, never ``cli``; every figure comes from ``geo``, every page from ``maps``.
"""
