"""The lowest floor: data, rules and analysis, with no web framework and no map renderer.

Top-level modules are the foundations every package shares: settings (``config``), domain
errors, vocabularies, coordinate systems (``crs``), opening hours and the Chinese calendar
(``hours``), and the few standards the analyses agree on (``standards``). Subpackages own one
capability each. ``geo`` never imports ``api``, ``maps`` or ``cli``, nor FastAPI, Starlette or
folium; the import contracts in ``pyproject.toml`` fail the build if it does.
"""
