"""``nuanxin users``: editors' API tokens, shown once and stored only as a keyed hash."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.errors import friendly_errors
from cli.options import engine
from geo.config import get_settings
from geo.errors import InvalidInputError

app = typer.Typer(help="API tokens for editors: add, list, revoke.", no_args_is_help=True)


@app.command("add")
@friendly_errors
def users_add(
    name: Annotated[str, typer.Argument(help="who the token is for, e.g. fengtai-union")],
    role: Annotated[str, typer.Option(help="admin | district_editor")] = "district_editor",
    district: Annotated[
        str | None, typer.Option(help="district code an editor may change (12 digits)")
    ] = None,
) -> None:
    """Make a token; it is printed once and only its keyed hash is stored."""
    from geo.store.tokens import Role, create_token

    try:
        chosen = Role(role)
    except ValueError as exc:
        raise InvalidInputError("--role is admin or district_editor", field="role") from exc
    settings = get_settings()
    with engine(settings).begin() as conn:
        token = create_token(conn, name, chosen, district,
                             settings.token_secret.get_secret_value())  # fmt: skip
    typer.echo(f"token for {name} ({chosen.value}{', ' + district if district else ''}):")
    typer.echo(token)
    typer.echo("it is shown only now; send it as 'Authorization: Bearer <token>'", err=True)


@app.command("list")
@friendly_errors
def users_list() -> None:
    """Every token: name, role, district, created, last used, revoked."""
    from sqlalchemy import text

    with engine(get_settings()).connect() as conn:
        rows = conn.execute(text("SELECT name, role, district_code, created_at, last_used_at, "
                                 "revoked_at FROM api_tokens ORDER BY name")).all()  # fmt: skip
    for name, role, district, created, used, revoked in rows:
        state = f"revoked {revoked:%Y-%m-%d}" if revoked else "active"
        last = f"{used:%Y-%m-%d %H:%M}" if used else "never"
        typer.echo(f"{name}\t{role}\t{district or '-'}\tcreated {created:%Y-%m-%d}\t"
                   f"last used {last}\t{state}")  # fmt: skip


@app.command("revoke")
@friendly_errors
def users_revoke(name: Annotated[str, typer.Argument(help="the token's name")]) -> None:
    """Revoke a token: refused from the next request on."""
    from geo.store.tokens import revoke_token

    with engine(get_settings()).begin() as conn:
        revoke_token(conn, name)
    typer.echo(f"revoked {name}")
