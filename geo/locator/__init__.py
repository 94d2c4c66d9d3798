"""The locator's rules and search, pure: which places answer a worker, in what order.

``rules`` says what open-on-arrival, profiles, staleness and walking minutes mean; ``index``
holds the open stations in memory; ``search`` is the one seam where any place source (the
index, PostGIS, a walk) answers the locator's two questions, with the completeness check next
to the ranking; ``links`` makes the navigation links. Never touches a database or a request.
"""
