"""``nuanxin db``: start, migrate, back up and restore the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import friendly_errors
from cli.options import engine
from geo.config import get_settings
from geo.store import migrate
from geo.store.db import resolve_database_url

app = typer.Typer(help="Create, start and migrate the database.", no_args_is_help=True)


@app.command("url")
@friendly_errors
def db_url() -> None:
    """Start the local cluster if needed and print the database URL (contains the password)."""
    typer.echo(resolve_database_url(get_settings()))


@app.command("upgrade")
@friendly_errors
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    db = engine(get_settings())
    migrate.upgrade(db, revision)
    typer.echo(f"schema at revision {migrate.current_revision(db)}")


@app.command("downgrade")
@friendly_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, e.g. base")]) -> None:
    """Revert migrations down to REVISION ('base' drops every table of the project)."""
    db = engine(get_settings())
    migrate.downgrade(db, revision)
    typer.echo(f"schema at revision {migrate.current_revision(db) or 'base'}")


@app.command("current")
@friendly_errors
def db_current() -> None:
    """Print the schema revision the database is at, and the newest one available."""
    db = engine(get_settings())
    typer.echo(f"current: {migrate.current_revision(db) or 'base'}")
    typer.echo(f"head:    {migrate.head_revision()}")


@app.command("backup")
@friendly_errors
def db_backup(path: Annotated[Path, typer.Argument(help="dump file to write (.dump)")]) -> None:
    """Dump the whole database with pg_dump (custom format); restore it with `db restore`."""
    from geo.store.backup import backup, row_counts

    url = resolve_database_url(get_settings())
    backup(url, path)
    typer.echo(f"backup written to {path} ({path.stat().st_size:,} bytes): {row_counts(url)}")


@app.command("restore")
@friendly_errors
def db_restore(path: Annotated[Path, typer.Argument(help="a dump from `db backup`")]) -> None:
    """Restore a dump into the configured database, which must be empty (one transaction)."""
    from geo.store.backup import restore, row_counts

    url = resolve_database_url(get_settings())
    restore(url, path)
    typer.echo(f"restored {path}: {row_counts(url)}")
