"""``/locate``: the worker's nearest open places, answered by the route or its fast path.

``query`` is the one strict parser of the parameters; ``route`` the FastAPI route and
``answer()``; ``fastpath`` answers plain requests ahead of FastAPI through the same
``answer()``; ``places`` keeps the in-memory snapshot current; ``sql`` is the PostGIS place
source; ``walk`` re-ranks by the street network; ``render`` splices the JSON body. The rules and
the search seam live in ``geo.locator``.
"""
