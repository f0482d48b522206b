"""`alarmd config init|show|check|reload`: write, show, check and reload the configuration.

`init`, `show` and `check` read and write files and need no daemon; `check --online`
asks Twilio; `reload` asks the running daemon (POST /v1/reload) and waits for its answer.
Like the other offline verbs, they import what they need when they run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from alarmd.cli.context import Context, pass_ctx
from alarmd.cli.errors import EXIT_FAILURE, fail


@click.group("config")
def config_group() -> None:
    """Write, show, check and reload the configuration."""


@config_group.command("init")
@click.option("--number", help='Your phone number, with its country code ("+44 7700 900123").')
@click.option("--name", help="A name for it (default MOBILE).")
@click.option("--timezone", "zone", metavar="ZONE", help="IANA zone for alarms (default: the system's).")
@click.option("--force", is_flag=True, help="Overwrite a config file that is already there.")
@click.option("--system", is_flag=True, help="Write the service's layout (/etc/alarmd) instead.")
@pass_ctx
def config_init(ctx: Context, number: str | None, name: str | None, zone: str | None, force: bool,
                system: bool) -> None:
    """Write a starter config (dry-run) where the daemon looks for it."""
    from alarmd.config import starter
    from alarmd.config.file import find_config
    from alarmd.config.settings import load_settings, system_timezone
    from alarmd.errors import BadInput

    asking = sys.stdin.isatty()
    if number is None and not asking:
        raise BadInput("give --number NUMBER (with its country code, e.g. \"+44 7700 900123\"): "
                       "there is no terminal to ask on.")
    number = starter.check_number(number) if number is not None else _ask(
        "Your phone number, with its country code", None, starter.check_number)
    name = starter.check_name(name) if name is not None else (
        _ask("A name for it", starter.DEFAULT_NAME, starter.check_name) if asking else starter.DEFAULT_NAME)
    default_zone = system_timezone(os.environ)
    zone = starter.check_zone(zone) if zone is not None else (
        _ask("Time zone for alarms", default_zone, starter.check_zone) if asking else default_zone)
    config = starter.starter_config(number, name, zone, system=system)
    if system:
        directory = Path(ctx.config_path).parent if ctx.config_path else starter.SYSTEM_DIR
        written = starter.write_system(directory, config, force)
    else:
        path, _ = find_config(ctx.config_path, os.environ)
        assert path is not None
        written = starter.write_user(path, config, force)
    load_settings(written[0].path)  # what was written must load: a bug here is found now, not at 07:00
    for item in written:
        ctx.echo(f"Kept {item.path}: it was already there, and a credential is never overwritten." if item.kept
                 else f"Wrote {item.path} (mode {item.mode:04o}).")
    ctx.echo(f"Calls go to {name} ({number}), alarms in {zone}; dry-run until the twilio block holds the "
             "account (accountSID, authToken, numberFrom) and enabled is true.")
    _tell_daemon(ctx, written[0].path, system)


def _ask(text: str, default: str | None, check: Any) -> str:
    def value_proc(value: str) -> str:
        from alarmd.errors import BadInput

        try:
            return str(check(value))
        except BadInput as exc:
            raise click.UsageError(str(exc)) from None

    return str(click.prompt(text, default=default, value_proc=value_proc))


def _tell_daemon(ctx: Context, path: Path, system: bool) -> None:
    """Have a running daemon take the new file now; else say how to start one."""
    from alarmd.cli.client import ApiClient, ApiRefused
    from alarmd.config.file import load_client_settings
    from alarmd.errors import DaemonUnavailable

    try:
        answer = ApiClient(load_client_settings(path)).request("POST", "/v1/reload", timeout=10)
    except DaemonUnavailable:
        ctx.echo("Next: `systemctl enable --now alarmd` (README: Run it as a service)." if system
                 else "Next: `alarmd run`, then `alarmd add --at \"in 1m\" --to 0`.")
        return
    except ApiRefused as exc:
        fail(f"the running daemon did not take it: {exc}")
        sys.exit(EXIT_FAILURE)
    if not answer.get("config") or Path(answer["config"]).resolve() != path.resolve():
        fail(f"a daemon is running, but it reads {answer.get('config') or 'no config file'}, not {path}; "
             "restart it with --config to use this one.")
        sys.exit(EXIT_FAILURE)
    ctx.echo("The running daemon reloaded it. Next: `alarmd add --at \"in 1m\" --to 0`.")


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: [{key, value, origin, source}].")
@pass_ctx
def config_show(ctx: Context, as_json: bool) -> None:
    """The effective configuration and where each value came from (secrets masked)."""
    from alarmd.config.origins import show

    settings, shown = show(ctx.config_path, os.environ)
    if as_json:
        path = settings.client.config_path
        click.echo(json.dumps({"config": str(path) if path else None,
                               "settings": [item.as_json() for item in shown]}, indent=2, ensure_ascii=False))
        return
    origins = [item.origin + (f":{item.source}" if item.source else "") for item in shown]
    width, key_width = max(map(len, origins)), max(len(item.key) for item in shown)
    lines = [f"{origin:<{width}}  {item.key:<{key_width}}  {_text(item.value)}" for origin, item in zip(
        origins, shown, strict=True)]
    ctx.echo(lines)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@config_group.command("check")
@click.option("--online", is_flag=True, help="Also ask Twilio: credentials, numberFrom, verified numbers.")
@pass_ctx
def config_check(ctx: Context, online: bool) -> None:
    """Read the config and say whether it is usable (--online: whether Twilio agrees)."""
    from alarmd.config.settings import load_settings

    settings = load_settings(ctx.config_path)
    source = settings.client.config_path or "no config file (defaults; `alarmd config init` writes one)"
    mode = f"dry-run ({settings.twilio.dry_run_reason})" if settings.twilio.dry_run_reason else "twilio"
    click.echo(f"{source}: OK; mode {mode}; {numbers_text(len(settings.twilio.phone_numbers))}; "
               f"database {settings.database}")
    if not settings.twilio.phone_numbers:
        click.echo("Nobody can be called yet: add your number to twilio.phoneNumbers"
                   + (f" in {settings.client.config_path}." if settings.client.config_path
                      else " (`alarmd config init --number NUMBER` writes a config with it)."))
    from alarmd.daemon.preflight import check_online, environment_problems

    problems = environment_problems()
    for problem in problems:
        fail(problem)
    if problems:
        sys.exit(EXIT_FAILURE)
    if not online:
        return
    outcome = check_online(settings)
    for line in outcome.passed:
        click.echo(line)
    for problem in outcome.problems:
        fail(problem)
    if not outcome.ok:
        sys.exit(EXIT_FAILURE)


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
             f"mode {mode}; {numbers_text(int(answer.get('numbers', 0)))}.")
    for sentence in [*(answer.get("needs_restart") or []), *(answer.get("notes") or [])]:
        ctx.echo(sentence)


def numbers_text(count: int) -> str:
    return f"{count} phone number{'' if count == 1 else 's'}"
