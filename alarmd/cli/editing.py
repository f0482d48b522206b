"""The verbs that change something in the daemon: add, edit, remove, pause, resume, skip,
unskip, and dial (a call now).

Each checks what its options can say alone (a wrong combination is BadInput: one line,
exit 2), sends one request, and says what the daemon did. Time text ("07:00", "in 20m")
is sent as written: the service reads it in the alarm's zone, in one place.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from alarmd.cli import formatting as fmt
from alarmd.cli import screens, shapes
from alarmd.cli.context import Context, pass_ctx
from alarmd.cli.support import (
    DEFAULT,
    alarm_argument,
    alarm_path,
    clear_options,
    complete_number,
    day_options,
    delivery_options,
    schedule_options,
)
from alarmd.errors import BadInput

SCHEDULE_OPTIONS = ("at", "daily", "cron")


@click.command("add")
@click.option("--to", "to", required=True, shell_complete=complete_number,
              help="phoneNumbers index or name.")
@schedule_options
@delivery_options
@pass_ctx
def add(ctx: Context, /, **options: Any) -> None:
    """Add an alarm: --at for once, --daily [--days] or --cron to repeat."""
    check_schedule(options, required=True)
    # What is given; `default` is what not giving it means.
    body = {k: v for k, v in options.items() if v is not None and v is not DEFAULT}
    alarm = ctx.alarm("POST", "/v1/alarms", body)
    ctx.echo(f"Added alarm {_label(alarm)}: {alarm['schedule']}, {_calling(alarm)}; {_next_text(alarm)}.")


@click.command("edit")
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
        raise BadInput("nothing to change: give at least one of --to, --at, --daily, --days, "
                       "--cron, --tz, --name or --grace.")
    changed = ctx.alarm("PATCH", alarm_path(alarm), body)
    ctx.echo(f"Changed alarm {_label(changed)}: {changed['schedule']}, {_calling(changed)}; "
             f"{_next_text(changed)}.")
    dropped = changed.get("dropped_skips") or []
    if dropped:
        ctx.echo(f"Dropped {fmt.plural(len(dropped), 'skip')} that the new schedule does not ring at: "
                 f"{screens.instants_text(dropped, changed.get('tz'))}.")
    for note in changed.get("notes") or []:  # what the change does not do (a ring under way)
        ctx.echo(str(note))


@click.command("remove")
@alarm_argument()
@pass_ctx
def remove(ctx: Context, alarm: str) -> None:
    """Remove an alarm."""
    removed = ctx.alarm("DELETE", alarm_path(alarm))
    ctx.echo(f"Removed alarm {_label(removed)}: {removed['schedule']}.")


@click.command("pause")
@alarm_argument()
@click.option("--until", "until", metavar="WHEN", help='Resume by itself then ("mon 07:00", "in 3d", ISO).')
@pass_ctx
def pause(ctx: Context, alarm: str, until: str | None) -> None:
    """Stop an alarm ringing until resumed (or until WHEN)."""
    paused = ctx.alarm("POST", alarm_path(alarm) + "/pause", {"until": until} if until is not None else None)
    if paused.get("paused_until"):
        until_text = fmt.local(paused["paused_until"], paused.get("tz"))
        ctx.echo(f"Paused alarm {_label(paused)} until {until_text}.")
    else:
        ctx.echo(f"Paused alarm {_label(paused)}; `alarmd resume {paused['id']}` brings it back.")


@click.command("resume")
@alarm_argument()
@pass_ctx
def resume(ctx: Context, alarm: str) -> None:
    """Let a paused alarm ring again."""
    resumed = ctx.alarm("POST", alarm_path(alarm) + "/resume")
    ctx.echo(f"Resumed alarm {_label(resumed)}; {_next_text(resumed)}.")


@click.command("skip")
@alarm_argument()
@day_options("Skip the rings")
@pass_ctx
def skip(ctx: Context, /, alarm: str, **days: str | None) -> None:
    """Skip the next ring of an alarm (or those of --on DATE, or --from DATE --to DATE)."""
    skipped = ctx.alarm("POST", alarm_path(alarm) + "/skip", days_body(days))
    ctx.echo(f"Alarm {_label(skipped)} will not ring at "
             f"{screens.instants_text(skipped.get('skipped') or [], skipped.get('tz'))}; {_next_text(skipped)}.")


@click.command("unskip")
@alarm_argument()
@day_options("Take back the skips")
@pass_ctx
def unskip(ctx: Context, /, alarm: str, **days: str | None) -> None:
    """Take back the soonest skip of an alarm (or those of --on DATE, or --from DATE --to DATE)."""
    back = ctx.alarm("POST", alarm_path(alarm) + "/unskip", days_body(days))
    ctx.echo(f"Alarm {_label(back)} will ring again at "
             f"{screens.instants_text(back.get('unskipped') or [], back.get('tz'))}; {_next_text(back)}.")


@click.command("dial")
@click.argument("number", metavar="INDEX|NAME", shell_complete=complete_number)
@pass_ctx
def dial(ctx: Context, number: str) -> None:
    """Ring a configured number now."""
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


# --- the options as the API's request bodies, checked first --------------------------------


def check_schedule(options: dict[str, Any], *, required: bool) -> None:
    chosen = [f"--{k}" for k in SCHEDULE_OPTIONS if options.get(k) is not None]
    if len(chosen) > 1:
        raise BadInput(f"{' and '.join(chosen)} conflict: give only one of --at, --daily or --cron.")
    if required and not chosen:
        raise BadInput("give one of --at, --daily or --cron.")
    if options.get("days") is not None and options.get("at") is not None:
        raise BadInput("--days conflicts with --at: days go with --daily.")
    if options.get("days") is not None and options.get("cron") is not None:
        raise BadInput("--days conflicts with --cron: put the days in the cron expression.")
    if required and options.get("days") is not None and options.get("daily") is None:
        raise BadInput("--days goes with --daily.")


def days_body(days: dict[str, str | None]) -> dict[str, str] | None:
    """The API's body for --on / --from / --to, after checking they go together."""
    if days.get("on") is not None and (days.get("first") is not None or days.get("last") is not None):
        raise BadInput("--on conflicts with --from and --to: give one date, or a range.")
    if (days.get("first") is None) != (days.get("last") is None):
        raise BadInput("--from and --to go together: give both dates of the range.")
    names = {"on": "on", "first": "from", "last": "to"}
    body = {names[k]: v for k, v in days.items() if v is not None}
    return body or None


def changes_of(options: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body of an edit: the options given, with what is cleared as null."""
    body = {k: (None if v is DEFAULT else v) for k, v in options.items()
            if v is not None and k not in ("no_then", "no_say")}
    for flag, key in (("no_then", "then"), ("no_say", "say")):
        if options.get(flag):
            if options.get(key) is not None:
                raise BadInput(f"--{key} and --no-{key} conflict: give one of them.")
            body[key] = None
    return body


# --- what is said back --------------------------------------------------------------------


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
