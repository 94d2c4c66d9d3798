"""The database: tables, engine and sessions, the local cluster, migrations, backup, tokens,
and the tables read back as GeoDataFrames (``frames``) for the analyses.

Owns every synchronous connection (SQLAlchemy + psycopg 3). May import ``geo``'s foundations
(config, errors, vocab, crs, hours); nothing else in ``geo`` depends on it except the importers,
exporters and the siting job, which write or read through it.
"""
