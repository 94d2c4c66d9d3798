"""Coverage for a province or all of China, cut into partitions a Dask cluster computes.

``counties`` reads the real county polygons and census; ``sphere`` measures on the sphere so no
projection depends on where the country was cut; ``partition`` plans the parts and their halos;
``kernel`` is the pure per-part computation; ``engine`` runs it in one process or on Dask.
"""
