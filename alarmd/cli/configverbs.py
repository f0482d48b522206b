"""`alarmd config check|reload`: check and reload the configuration.

`check` reads the file and needs no daemon; `reload`
asks the running daemon (POST /v1/reload) and waits for its answer.
Like the other offline verbs, they import what they need when they run.
"""

from __future__ import annotations

import click

from alarmd.cli.context import Context, pass_ctx


@click.group("config")
def config_group() -> None:
    """Check and reload the configuration."""


@config_group.command("check")
@pass_ctx
def config_check(ctx: Context) -> None:
    """Read the config and say whether it is usable."""
    from alarmd.config.settings import load_settings

    settings = load_settings(ctx.config_path)
    source = settings.client.config_path or "no config file (defaults)"
    mode = f"dry-run ({settings.twilio.dry_run_reason})" if settings.twilio.dry_run_reason else "twilio"
    click.echo(f"{source}: OK; mode {mode}; {_numbers(len(settings.twilio.phone_numbers))}; "
               f"database {settings.database}")


@config_group.command("reload")
@pass_ctx
def config_reload(ctx: Context) -> None:
    """Have the running daemon read the config again, and wait for its answer.

    A broken file is refused (exit 2) and the daemon keeps the old config. The listen
    address, the database and the API token need a restart; under systemd so does a
    rotated credential (systemd copies them at start).
    """
    answer = ctx.call("POST", "/v1/reload")
    source = answer.get("config") or "no config file (defaults)"
    changed = answer.get("changed") or []
    mode = answer.get("mode", "unknown") + (f" ({answer['dry_run_reason']})" if answer.get("dry_run_reason") else "")
    ctx.echo(f"Reloaded {source}: {'changed ' + ', '.join(changed) if changed else 'nothing changed'}; "
             f"mode {mode}; {_numbers(int(answer.get('numbers', 0)))}.")
    for sentence in [*(answer.get("needs_restart") or []), *(answer.get("notes") or [])]:
        ctx.echo(sentence)


def _numbers(count: int) -> str:
    return f"{count} phone number{'' if count == 1 else 's'}"
