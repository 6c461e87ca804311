"""``adscreen serve``, ``adscreen users add`` and ``adscreen users units`` (mounted by adscreen.cli)."""

from __future__ import annotations

from typing import Annotated

import typer

from review.users import ROLES, UserError, create_user

users_app = typer.Typer(help="Accounts of the review app.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Serve the inspectors' review app."""
    import uvicorn

    from review.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info", proxy_headers=False)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "inspector",
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="at least 8 characters"),
    ] = ...,
) -> None:
    """Create an account of the review app."""
    from adscreen.settings import get_settings
    from store.db import session_scope

    try:
        with session_scope(get_settings().database_url) as session:
            create_user(session, username, password, role, actor="cli")
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"created {role} {username}")


@users_app.command("units")
def users_units(
    username: Annotated[str, typer.Argument(help="login name")],
    codes: Annotated[list[str] | None, typer.Argument(help="unit codes (see GET /api/v1/units); none: all units")] = None,
) -> None:
    """Scope an account to responsible units (属地管理): it then sees and decides only their cases."""
    from sqlalchemy import select

    from adscreen.settings import get_settings
    from review.app import prepare_units
    from review.users import normalize_username
    from store import audit, units
    from store.db import session_scope, sessionmaker_for
    from store.models import User

    settings = get_settings()
    try:
        prepare_units(sessionmaker_for(settings.database_url), settings.units_file)
        with session_scope(settings.database_url) as session:
            user = session.scalar(select(User).where(User.username == normalize_username(username)))
            if user is None:
                raise UserError(f"no account named {username!r}")
            chosen = units.set_user_units(session, user.id, codes or [])
            audit.record(session, settings.cli_actor, "user.units", "user", user.id, None, {"units": chosen})
    except (UserError, units.UnitsError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{username}: {', '.join(chosen) if chosen else 'all units'}")


app = typer.Typer(help="The review app.")
app.command("serve")(serve)
app.add_typer(users_app, name="users")
