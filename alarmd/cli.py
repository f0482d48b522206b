"""The `alarmd` command: parse, ask the daemon's API (or do an offline verb), print.

Imports stay light: the server stack, APScheduler and the twilio SDK are only imported
by `run`, so every other verb starts fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from alarmd import __version__
from alarmd.errors import AlarmdError, BadInput, ConfigError, DaemonUnavailable

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class Context:
    def __init__(self, config_path: str | None):
        self.config_path = config_path

    def api(self) -> Any:
        from alarmd.client import ApiClient
        from alarmd.config import load_client_settings

        return ApiClient(load_client_settings(self.config_path))


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="ALARMD_CONFIG", metavar="PATH",
              type=click.Path(dir_okay=False), help="Config file (default: see README).")
@click.version_option(__version__, prog_name="alarmd")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """alarmd: wake-up calls through Twilio."""
    ctx.obj = Context(config_path)


@cli.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Run the daemon (upgrades the database first)."""
    from alarmd.config import load_settings
    from alarmd.daemon import run as run_daemon

    sys.exit(run_daemon(load_settings(ctx.config_path)))


def _duration_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    from alarmd.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.option("--to", "to", required=True, help="phoneNumbers index or name.")
@click.option("--at", "at", help="One-off: an ISO 8601 date and time.")
@click.option("--daily", help="Every day (or --days) at HH:MM.")
@click.option("--days", help='With --daily: "mon-fri", "sat,sun", "weekdays", "weekends".')
@click.option("--cron", help='A 5-field cron expression, e.g. "30 6 * * 1-5".')
@click.option("--tz", help="IANA time zone (default: the configured one).")
@click.option("--name", help="A unique name to refer to the alarm by.")
@click.option("--grace", "grace_seconds", type=click.IntRange(0, 86_400),
              help="Seconds late it may still ring after a restart (default 600).")
@click.option("--attempts", "redial_attempts", type=click.IntRange(1, 10),
              help="Calls in all while unanswered (default alarmd.redial.attempts, 3).")
@click.option("--interval", "redial_interval_seconds", callback=_duration_option, metavar="DURATION",
              help="Wait between unanswered calls, e.g. 3m (default alarmd.redial.intervalSeconds, 120s).")
@click.option("--then", "then", metavar="NAME", help="Fallback number to ring when nobody answers.")
@click.option("--ring", "ring_seconds", callback=_duration_option, metavar="DURATION",
              help="How long each call rings, e.g. 45s (default 60s).")
@click.option("--say", help="Words spoken when answered, instead of twilio.callingURI.")
@pass_ctx
def add(ctx: Context, /, **options: Any) -> None:
    """Add an alarm."""
    body = {k: v for k, v in options.items() if v is not None}
    alarm = ctx.api().request("POST", "/v1/alarms", body)
    click.echo(f"Added alarm {alarm['id']}: {alarm['schedule']}, next {_local(alarm['next_fire_local'])}.")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """List alarms, soonest first."""
    alarms = ctx.api().request("GET", "/v1/alarms")["alarms"]
    if as_json:
        _print_json(alarms)
        return
    rows = [["ID", "NAME", "NEXT", "SCHEDULE", "TO", "STATE"]]
    for a in alarms:
        rows.append([str(a["id"]), a["name"] or "-", _local(a["next_fire_local"]), a["schedule"],
                     _number(a["to"]), a["state"]])
    _print_table(rows)
    click.echo(f"\n{len(alarms)} alarm{'s' if len(alarms) != 1 else ''} listed.")


@cli.command()
@click.argument("alarm")
@pass_ctx
def remove(ctx: Context, alarm: str) -> None:
    """Remove an alarm by id or name."""
    removed = ctx.api().request("DELETE", f"/v1/alarms/{_quote(alarm)}")
    click.echo(f"Removed alarm {removed['id']} ({removed['schedule']}).")


@cli.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--alarm", help="Only this alarm (id or name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def history(ctx: Context, limit: int, alarm: str | None, as_json: bool) -> None:
    """Calls placed (and missed), newest first."""
    calls = ctx.api().request("GET", "/v1/calls", query={"limit": limit, "alarm": alarm})["calls"]
    if as_json:
        _print_json(calls)
        return
    rows = [["WHEN", "ALARM", "TO", "STATUS", "DETAIL"]]
    for c in calls:
        last = c["attempts"][-1] if c["attempts"] else None
        detail = c["detail"] or (last and (last["sid"] or last["error_message"])) or ""
        rows.append([_local(c["scheduled_at"]), c["alarm_name"] or str(c["alarm_id"] or c["reason"]),
                     _number(c["to"]), c["status"], detail])
    _print_table(rows)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Is the daemon up, in which mode, and what is next."""
    info = ctx.api().request("GET", "/v1/status")
    if as_json:
        _print_json(info)
        return
    click.echo(f"alarmd {info['version']}: up, {info['mode']} mode, {info['alarms']} alarms")
    if info["next_alarm"]:
        click.echo(f"next alarm: {_local(info['next_alarm']['next_fire_local'])}")


@cli.group()
def db() -> None:
    """Database maintenance (offline)."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Create or upgrade the database schema."""
    from alarmd.config import load_settings
    from alarmd.daemon import open_database

    settings = load_settings(ctx.config_path)
    open_database(settings).dispose()
    click.echo(f"{settings.database}: schema is up to date.")


@cli.group("config")
def config_group() -> None:
    """Configuration (offline)."""


@config_group.command("check")
@pass_ctx
def config_check(ctx: Context) -> None:
    """Read the config and say whether it is usable."""
    from alarmd.config import load_settings

    settings = load_settings(ctx.config_path)
    source = settings.client.config_path or "no config file (defaults)"
    mode = f"dry-run ({settings.twilio.dry_run_reason})" if settings.twilio.dry_run_reason else "twilio"
    click.echo(f"{source}: OK; mode {mode}; {len(settings.twilio.phone_numbers)} phone numbers; "
               f"database {settings.database}")


# --- output helpers -------------------------------------------------------------------


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _local(value: str | None) -> str:
    if not value:
        return "-"
    from datetime import datetime

    return datetime.fromisoformat(value).strftime("%a %Y-%m-%d %H:%M %Z").strip()


def _number(to: dict[str, Any]) -> str:
    if to.get("name"):
        return f"{to['name']} ({to['number']})"
    return str(to.get("number") or to.get("ref"))


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error is one line on stderr and an exit status, never a traceback."""
    from alarmd.client import ApiRefused

    try:
        cli.main(args=argv, prog_name="alarmd", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("alarmd: aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        click.echo(f"alarmd: {exc.format_message()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except ApiRefused as exc:
        click.echo(f"alarmd: {exc}", err=True)
        # The daemon judged the input (4xx but auth and rate limit): that is bad input.
        bad_input = 400 <= exc.status < 500 and exc.status not in (401, 403, 429)
        sys.exit(EXIT_BAD_INPUT if bad_input else EXIT_FAILURE)
    except (ConfigError, BadInput) as exc:
        click.echo(f"alarmd: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except (DaemonUnavailable, AlarmdError) as exc:
        click.echo(f"alarmd: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        sys.exit(130)
