"""OGC API – Features under ``/ogc`` and vector tiles under ``/tiles``: collections,
parameters and HTML of the features; MVT from PostGIS with their cache and fast path.
"""
