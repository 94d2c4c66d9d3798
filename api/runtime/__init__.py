"""What lives as long as the app does: the asyncpg pool, layer versions, the locator snapshot.

``services`` holds them in one typed object (``app.state.services``) built by ``create_app`` and
filled by the lifespan; ``freshness`` owns every read of ``layer_versions``; ``database`` owns
the pool and the compilation of SQLAlchemy statements for asyncpg; ``places`` the locator's
in-memory stations; ``caches`` the tile and coverage caches. Routes reach all of it through
``api.deps.ServicesDep``. May import ``geo``; never ``maps`` or the routes.
"""
