"""``adscreen serve`` and ``adscreen users add`` (mounted by adscreen.cli)."""

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


app = typer.Typer(help="The review app.")
app.command("serve")(serve)
app.add_typer(users_app, name="users")
