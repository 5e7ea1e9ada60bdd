"""The web app and its accounts: serve, users add|list|remove."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import (
    ConfigOpt,
    DbOpt,
    RedactOpt,
    app,
    build_settings,
    fail,
    guarded,
    open_engine,
)

users = typer.Typer(help="Accounts of the web app (auditor serve).\n\n"
                         "Example: auditor users add anna --role reviewer",
                    no_args_is_help=True)
app.add_typer(users, name="users")


@app.command()
def serve(
    db: DbOpt = None,
    config: ConfigOpt = None,
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on; anything but 127.0.0.1/localhost needs accounts "
                       "('auditor users add').")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8080,
    tls_cert: Annotated[Path | None, typer.Option(
        "--tls-cert", help="Serve HTTPS with this certificate (PEM); needs --tls-key.")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        "--tls-key", help="The certificate's private key (PEM).")] = None,
    redact: RedactOpt = False,
) -> None:
    """Review in the browser: the queue, each call with its audio, managers' KPIs, search.

    Listens on 127.0.0.1 by default, for you alone. To let colleagues in on
    the office network, add accounts and listen on all addresses.

    Example: auditor serve --db audit.db   (then open http://127.0.0.1:8080)

    Example: auditor users add anna --role reviewer && auditor serve --host 0.0.0.0

    Example: auditor serve --host 0.0.0.0 --tls-cert office.pem --tls-key office.key
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise fail("the web app needs its extra: pip install 'auditor[web]'") from None
    with guarded():
        from auditor.web.server import build_app, check_tls
        from auditor.web.server import serve as run

        https = check_tls(tls_cert, tls_key)
        settings = build_settings(config, db=db, redact=redact or None)
        web_app = build_app(settings, host, https=https)  # refuses a bind it must not make
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"auditor serve: {'https' if https else 'http'}://{shown}:{port}/ over "
                   f"{_db_shown(settings.db)}" + (" (redacted)" if settings.redact else ""),
                   err=True)
        run(web_app, host=host, port=port, cert=tls_cert, key=tls_key)


def _db_shown(db: str) -> str:
    """The database as the start line names it: a URL's password hidden."""
    if "://" not in db:
        return db
    from sqlalchemy.engine import make_url

    try:
        return make_url(db).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: the engine would have refused it
        return "the database"


def _read_password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    # On stderr, so 'users hash ... >> auditor.toml' writes only the account line.
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@users.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name (a-z 0-9 . _ - @).")],
    role: Annotated[str, typer.Option("--role", help="reviewer (may decide) or viewer (reads).")
                    ] = "reviewer",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Add an account (or reset one's role and password); the password is asked for.

    Only a salted scrypt hash is stored.

    Example: auditor users add anna --role reviewer --db audit.db
    """
    with guarded():
        from auditor.web.accounts import add_user

        _settings, engine = open_engine(config, db)
        user = add_user(engine, name, role, _read_password(password_stdin))
    typer.echo(f"account {user.name}: {user.role}")


@users.command("hash")
def users_hash(
    name: Annotated[str, typer.Argument(help="Sign-in name (a-z 0-9 . _ - @).")],
    role: Annotated[str, typer.Option("--role", help="reviewer (may decide) or viewer (reads).")
                    ] = "reviewer",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Print an account's line for auditor.toml's [accounts] table (instead of the database).

    Example: auditor users hash anna --role reviewer >> auditor.toml   (under [accounts])
    """
    with guarded():
        from auditor.web.accounts import account_line

        typer.echo(account_line(name, role, _read_password(password_stdin)))


@users.command("list")
def users_list(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """List the accounts and their roles (the database's, then auditor.toml's).

    Example: auditor users list --db audit.db
    """
    with guarded():
        from auditor import store
        from auditor.web.accounts import config_accounts

        settings, engine = open_engine(config, db)
        configured = config_accounts(settings.accounts)
        with store.session(engine) as s:
            rows = store.list_accounts(s)
    for r in rows:
        typer.echo(f"{r.name}\t{r.role}\t{r.created_at:%Y-%m-%d}")
    in_db = {r.name for r in rows}
    for name, acc in sorted(configured.items()):
        if name not in in_db:
            typer.echo(f"{name}\t{acc.role}\tauditor.toml")
    if not rows and not configured:
        typer.echo("no accounts: 'auditor serve' listens on 127.0.0.1 only", err=True)


@users.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="Account to remove.")],
                 db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Remove an account; the reviews it made keep its name.

    Example: auditor users remove anna --db audit.db
    """
    with guarded():
        from auditor import store

        _settings, engine = open_engine(config, db)
        with store.session(engine) as s:
            gone = store.delete_account(s, name.strip().lower())
            s.commit()
    if not gone:
        raise fail(f"no account named {name!r}")
    typer.echo(f"removed {name}")
