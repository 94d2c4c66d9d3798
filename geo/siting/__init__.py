"""The siting optimiser: where new stations bring the most people within reach.

``problem`` builds the sparse reach matrix; ``greedy``, ``search``, ``mip``, ``mclp``,
``decompose`` and ``solve`` solve it (HiGHS and heuristics, numbers in, numbers out);
``frames`` is the GeoDataFrame adapter; ``job`` runs one as a background job from the database
(the only module here that imports ``geo.store``). May import ``geo.coverage`` for demand.
"""
