"""The `alarmd` command: parse, ask the daemon's API, print.

Imports stay light: the server stack, APScheduler and the twilio SDK are only imported
by `run` (alarmd.cli.offline, with the other verbs that need no daemon), so every other
verb starts fast. `list` and `status` are written in
alarmd.cli.quick, which answers them without importing this module at all. Time text ("07:00", "in 20m") is sent to the
daemon as written: the service reads it in the alarm's zone, in one place.
"""

from __future__ import annotations

from typing import Any

import click

from alarmd import __version__
from alarmd.cli import configverbs, offline, quick, screens, shapes, web
from alarmd.cli import formatting as fmt
from alarmd.cli.context import Context, pass_ctx
from alarmd.cli.support import (
    AlarmdGroup,
    additions_of,
    alarm_argument,
    changes_of,
    check_schedule,
    clear_options,
    complete_alarm,
    complete_number,
    day_options,
    days_body,
    delivery_options,
    json_option,
    schedule_options,
)


def _path(ref: str) -> str:
    from urllib.parse import quote

    if "/" in ref:
        # The daemon refuses such names: "wake/next" can only mean another route.
        raise click.UsageError("no alarm name contains '/'; give the alarm's id or its name.")
    return "/v1/alarms/" + quote(ref.strip(), safe="")


def _print_json(value: Any) -> None:
    click.echo(quick.json_text(value))


def _next_text(alarm: dict[str, Any]) -> str:
    from alarmd import clock

    return screens.next_text(alarm, clock.now())


def _calling(alarm: dict[str, Any]) -> str:
    """"calling MOBILE (+44 …)", and whether a voicemail counts as woken."""
    human = " (a machine is not an answer)" if alarm.get("require_human") else ""
    return f"calling {fmt.number(alarm.get('to'))}{human}"


def _label(alarm: dict[str, Any]) -> str:
    """"1 (wake)" in sentences: the id first, as the user may type it next."""
    return f"{alarm.get('id')} ({alarm['name']})" if alarm.get("name") else str(alarm.get("id"))


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
    check_schedule(options, required=True)
    alarm = ctx.alarm("POST", "/v1/alarms", additions_of(options))
    ctx.echo(f"Added alarm {_label(alarm)}: {alarm['schedule']}, {_calling(alarm)}; {_next_text(alarm)}.")


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
    check_schedule(options, required=False)
    body = changes_of(options)
    if not body:
        raise click.UsageError("nothing to change: give at least one of --to, --at, --daily, --days, "
                               "--cron, --tz, --name or --grace.")
    changed = ctx.alarm("PATCH", _path(alarm), body)
    ctx.echo(f"Changed alarm {_label(changed)}: {changed['schedule']}, {_calling(changed)}; "
             f"{_next_text(changed)}.")
    dropped = changed.get("dropped_skips") or []
    if dropped:
        ctx.echo(f"Dropped {fmt.plural(len(dropped), 'skip')} that the new schedule does not ring at: "
                 f"{screens.instants_text(dropped, changed.get('tz'))}.")
    for note in changed.get("notes") or []:  # what the change does not do (a ring under way)
        ctx.echo(str(note))


@cli.command("list")
@json_option()
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """List alarms, soonest first (like systemctl list-timers)."""
    quick.show_list(ctx.api(), ctx.paint, as_json, ctx.echo)


@cli.command()
@alarm_argument()
@json_option()
@pass_ctx
def show(ctx: Context, alarm: str, as_json: bool) -> None:
    """Everything about one alarm."""
    from alarmd import clock

    found = ctx.alarm("GET", _path(alarm))
    if as_json:
        _print_json(found)
        return
    fire_times = None
    if found.get("next_ring_at"):  # Then: the rings after it, from the same answer
        path = _path(str(found["id"])) + "/next"
        fire_times = shapes.fire_times(ctx.call("GET", path, query={"count": 4}), ctx.where("GET", path))
    ctx.echo(screens.alarm_detail(found, clock.now(), ctx.paint, fire_times))


@cli.command()
@alarm_argument()
@pass_ctx
def remove(ctx: Context, alarm: str) -> None:
    """Remove an alarm."""
    removed = ctx.alarm("DELETE", _path(alarm))
    ctx.echo(f"Removed alarm {_label(removed)}: {removed['schedule']}.")


@cli.command()
@alarm_argument()
@click.option("--until", "until", metavar="WHEN", help='Resume by itself then ("mon 07:00", "in 3d", ISO).')
@pass_ctx
def pause(ctx: Context, alarm: str, until: str | None) -> None:
    """Stop an alarm ringing until resumed (or until WHEN)."""
    paused = ctx.alarm("POST", _path(alarm) + "/pause", {"until": until} if until is not None else None)
    if paused.get("paused_until"):
        until_text = fmt.local(paused["paused_until"], paused.get("tz"))
        ctx.echo(f"Paused alarm {_label(paused)} until {until_text}.")
    else:
        ctx.echo(f"Paused alarm {_label(paused)}; `alarmd resume {paused['id']}` brings it back.")


@cli.command()
@alarm_argument()
@pass_ctx
def resume(ctx: Context, alarm: str) -> None:
    """Let a paused alarm ring again."""
    resumed = ctx.alarm("POST", _path(alarm) + "/resume")
    ctx.echo(f"Resumed alarm {_label(resumed)}; {_next_text(resumed)}.")


@cli.command()
@alarm_argument()
@day_options("Skip the rings")
@pass_ctx
def skip(ctx: Context, /, alarm: str, **days: str | None) -> None:
    """Skip the next ring of an alarm (or those of --on DATE, or --from DATE --to DATE)."""
    skipped = ctx.alarm("POST", _path(alarm) + "/skip", days_body(days))
    ctx.echo(f"Alarm {_label(skipped)} will not ring at "
             f"{screens.instants_text(skipped.get('skipped') or [], skipped.get('tz'))}; {_next_text(skipped)}.")


@cli.command()
@alarm_argument()
@day_options("Take back the skips")
@pass_ctx
def unskip(ctx: Context, /, alarm: str, **days: str | None) -> None:
    """Take back the soonest skip of an alarm (or those of --on DATE, or --from DATE --to DATE)."""
    back = ctx.alarm("POST", _path(alarm) + "/unskip", days_body(days))
    ctx.echo(f"Alarm {_label(back)} will ring again at "
             f"{screens.instants_text(back.get('unskipped') or [], back.get('tz'))}; {_next_text(back)}.")


@cli.command()
@click.argument("number", metavar="INDEX|NAME", shell_complete=complete_number)
@pass_ctx
def dial(ctx: Context, number: str) -> None:
    """Ring a configured number now."""
    from urllib.parse import quote

    path = "/twilio/" + quote(number.strip(), safe="")
    occurrence = shapes.call(ctx.call("POST", path), ctx.where("POST", path))
    who = fmt.number(occurrence.get("to"))
    status = str(occurrence.get("status"))
    if status in ("claimed", "dialling"):
        # The daemon places the call off the request: the answer comes before Twilio's.
        ctx.echo(f"Calling {who} now; `alarmd history --limit 1` shows how it went.")
        return
    attempts = occurrence.get("attempts") or []
    sid = attempts[-1].get("sid") if attempts else None
    detail = occurrence.get("detail") or (f"call {sid}" if sid else "")
    ctx.echo(f"Dialled {who}: {ctx.paint.outcome(status)}" + (f" ({detail})." if detail else "."))


@cli.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--alarm", metavar="ALARM", shell_complete=complete_alarm, help="Only this alarm (id or name).")
@json_option()
@pass_ctx
def history(ctx: Context, limit: int, alarm: str | None, as_json: bool) -> None:
    """Calls placed (and missed), newest first."""
    query = {"limit": limit, "alarm": alarm.strip() if alarm else None}
    calls = shapes.calls(ctx.call("GET", "/v1/calls", query=query), ctx.where("GET", "/v1/calls"))
    if as_json:
        _print_json(calls)
        return
    ctx.echo(screens.history_list(calls, ctx.paint))


@cli.command()
@json_option()
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Is the daemon up, in which mode, and what is next."""
    quick.show_status(ctx.api(), ctx.paint, as_json, ctx.echo)


@cli.command("next")
@click.argument("alarm", metavar="[ALARM]", required=False, shell_complete=complete_alarm)
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True,
              help="How many instants.")
@click.option("--explain", is_flag=True, help="Local and UTC, and what DST did to each instant.")
@json_option()
@pass_ctx
def next_(ctx: Context, alarm: str | None, count: int, explain: bool, as_json: bool) -> None:
    """The next instants alarms will ring (all alarms, or one)."""
    from alarmd import clock

    if alarm is not None:
        found = ctx.alarm("GET", _path(alarm))
        path = _path(str(found["id"])) + "/next"
        answer = shapes.fire_times(ctx.call("GET", path, query={"count": count}), ctx.where("GET", path))
        items = [{"alarm_id": found["id"], "alarm_name": found.get("name"), **item} for item in answer]
        zones = {found["id"]: found.get("tz")}
    else:
        items = shapes.fire_times(ctx.call("GET", "/v1/next", query={"count": count}), ctx.where("GET", "/v1/next"))
        zones = ({a["id"]: a.get("tz") for a in shapes.alarms(ctx.call("GET", "/v1/alarms"),
                                                               ctx.where("GET", "/v1/alarms"))} if items else {})
    if as_json:
        _print_json(items)
        return
    ctx.echo(screens.fire_time_list(items, clock.now(), ctx.paint, explain=explain, zones=zones))


# Offline verbs (alarmd.cli.offline, and the config verbs): they work without a running daemon.
for _command in (offline.run, offline.db, configverbs.config_group):
    cli.add_command(_command)
cli.add_command(web.web)
