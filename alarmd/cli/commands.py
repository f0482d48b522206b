"""The `alarmd` command in click: options, help, usage errors and shell completion.

What each verb does is in alarmd.cli.verbs, click-free: a plain command line is parsed
by alarmd.cli.fast and runs those bodies without importing this module at all; anything
else (--help, --version, a usage error, completion, the offline verbs) comes here.
Imports stay light: the server stack, APScheduler and the twilio SDK are only imported
by `run` (alarmd.cli.offline, with the other verbs that need no daemon).
"""

from __future__ import annotations

from typing import Any

import click

from alarmd import __version__
from alarmd.cli import configverbs, offline, verbs, web
from alarmd.cli.context import Context, pass_ctx
from alarmd.cli.support import (
    AlarmdGroup,
    alarm_argument,
    clear_options,
    complete_alarm,
    complete_number,
    day_options,
    delivery_options,
    json_option,
    schedule_options,
)

# --- the command ---------------------------------------------------------------------


@click.group("alarmd", cls=AlarmdGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="ALARMD_CONFIG", metavar="PATH",
              type=click.Path(dir_okay=False), help="Config file (default: see README).")
@click.version_option(__version__, prog_name="alarmd")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """alarmd: wake-up calls through Twilio.

    An ALARM is named by its id or its unique name. Shell completion:
    eval "$(_ALARMD_COMPLETE=bash_source alarmd)" (zsh_source, fish_source).
    """
    ctx.obj = Context(config_path)


@cli.command()
@click.option("--to", "to", required=True, shell_complete=complete_number,
              help="phoneNumbers index or name.")
@schedule_options
@delivery_options
@pass_ctx
def add(ctx: Context, /, **options: Any) -> None:
    """Add an alarm: --at for once, --daily [--days] or --cron to repeat."""
    verbs.add(ctx, **options)


@cli.command()
@alarm_argument()
@click.option("--to", "to", shell_complete=complete_number, help="phoneNumbers index or name.")
@schedule_options
@delivery_options
@clear_options
@pass_ctx
def edit(ctx: Context, /, alarm: str, **options: Any) -> None:
    """Change an alarm; only the options given change (--no-then, --no-say, --ring default and
    the like put one back to its default)."""
    verbs.edit(ctx, alarm=alarm, **options)


@cli.command("list")
@json_option()
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """List alarms, soonest first (like systemctl list-timers)."""
    verbs.list_(ctx, as_json=as_json)


@cli.command()
@alarm_argument()
@json_option()
@pass_ctx
def show(ctx: Context, alarm: str, as_json: bool) -> None:
    """Everything about one alarm."""
    verbs.show(ctx, alarm=alarm, as_json=as_json)


@cli.command()
@alarm_argument()
@pass_ctx
def remove(ctx: Context, alarm: str) -> None:
    """Remove an alarm."""
    verbs.remove(ctx, alarm=alarm)


@cli.command()
@alarm_argument()
@click.option("--until", "until", metavar="WHEN", help='Resume by itself then ("mon 07:00", "in 3d", ISO).')
@pass_ctx
def pause(ctx: Context, alarm: str, until: str | None) -> None:
    """Stop an alarm ringing until resumed (or until WHEN)."""
    verbs.pause(ctx, alarm=alarm, until=until)


@cli.command()
@alarm_argument()
@pass_ctx
def resume(ctx: Context, alarm: str) -> None:
    """Let a paused alarm ring again."""
    verbs.resume(ctx, alarm=alarm)


@cli.command()
@alarm_argument()
@day_options("Skip the rings")
@pass_ctx
def skip(ctx: Context, /, alarm: str, **days: str | None) -> None:
    """Skip the next ring of an alarm (or those of --on DATE, or --from DATE --to DATE)."""
    verbs.skip(ctx, alarm=alarm, **days)


@cli.command()
@alarm_argument()
@day_options("Take back the skips")
@pass_ctx
def unskip(ctx: Context, /, alarm: str, **days: str | None) -> None:
    """Take back the soonest skip of an alarm (or those of --on DATE, or --from DATE --to DATE)."""
    verbs.unskip(ctx, alarm=alarm, **days)


@cli.command()
@click.argument("number", metavar="INDEX|NAME", shell_complete=complete_number)
@pass_ctx
def dial(ctx: Context, number: str) -> None:
    """Ring a configured number now."""
    verbs.dial(ctx, number=number)


@cli.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--alarm", metavar="ALARM", shell_complete=complete_alarm, help="Only this alarm (id or name).")
@json_option()
@pass_ctx
def history(ctx: Context, limit: int, alarm: str | None, as_json: bool) -> None:
    """Calls placed (and missed), newest first."""
    verbs.history(ctx, limit=limit, alarm=alarm, as_json=as_json)


@cli.command()
@json_option()
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Is the daemon up, in which mode, and what is next."""
    verbs.status(ctx, as_json=as_json)


@cli.command("next")
@click.argument("alarm", metavar="[ALARM]", required=False, shell_complete=complete_alarm)
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True,
              help="How many instants.")
@click.option("--explain", is_flag=True, help="Local and UTC, and what DST did to each instant.")
@json_option()
@pass_ctx
def next_(ctx: Context, alarm: str | None, count: int, explain: bool, as_json: bool) -> None:
    """The next instants alarms will ring (all alarms, or one)."""
    verbs.next_(ctx, alarm=alarm, count=count, explain=explain, as_json=as_json)


# Offline verbs (alarmd.cli.offline, and the config verbs): they work without a running daemon.
for _command in (offline.run, offline.db, configverbs.config_group):
    cli.add_command(_command)
cli.add_command(web.web)
