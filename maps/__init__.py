"""Pages and maps: HTML templates, the locator page, the widget, folium report maps.

``maps`` renders what it is given: it may import ``geo`` for vocabularies, labels and result
types, never ``api`` or ``cli``, and it never opens a database connection (no SQLAlchemy,
asyncpg or psycopg, and nothing from ``geo.store``).
"""
