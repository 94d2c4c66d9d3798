"""The ``nuanxin`` command: the composition root, above everything it composes.

Owns argument parsing, terminal output and exit codes; every figure and every write comes from
``geo`` (analysis, importers, store), pages from ``maps``, the service from ``api``. It may import
all three; none of them may import it. Each command module holds plain functions;
:mod:`cli.main` registers them on one Typer app, so no command module imports another's app.
"""
