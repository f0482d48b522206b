"""The verbs that work without a running daemon: `run` itself and `db upgrade` (and, in
alarmd.cli.configverbs, `config init|show|check`).

They (and `config check --online`) are the CLI's only way into the daemon's code
(alarmd.daemon); they import it when they run, so no other verb loads the server stack.
"""

from __future__ import annotations

import sys

import click

from alarmd.cli.context import Context, pass_ctx


@click.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Run the daemon (upgrades the database first)."""
    from alarmd.config.settings import load_settings
    from alarmd.daemon.main import run as run_daemon

    sys.exit(run_daemon(load_settings(ctx.config_path), ctx.config_path))


@click.group()
def db() -> None:
    """Database maintenance (offline)."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Create or upgrade the database schema."""
    from alarmd.config.settings import load_settings
    from alarmd.daemon.main import open_database

    settings = load_settings(ctx.config_path)
    open_database(settings).dispose()
    click.echo(f"{settings.database}: schema is up to date.")


@db.command("copy")
@click.option("--to", "to", required=True, metavar="URL",
              help="The database to copy into, e.g. postgresql://alarmd@db:5432/alarmd; it must be empty.")
@pass_ctx
def db_copy(ctx: Context, to: str) -> None:
    """Copy the database, alarms and history, into another one (stop the daemon first)."""
    from alarmd.config.database import database_named
    from alarmd.config.settings import load_settings
    from alarmd.daemon.dbcopy import copy_to
    from alarmd.errors import BadInput

    settings = load_settings(ctx.config_path)
    target = database_named("--to", to)
    if str(target) == str(settings.database):
        raise BadInput(f"--to names the database alarmd already uses ({settings.database}).")
    counts = copy_to(settings, target)
    click.echo(f"Copied {counts['alarms']} alarms and {counts['occurrences']} calls from {settings.database} "
               f"to {target}. Set alarmd.database to {target} on every node, then start them.")

