"""What each verb that asks the running daemon does: the request, and the lines it prints.

Click-free: a command line alarmd.cli.fast has parsed runs these bodies directly, and the
click commands of alarmd.cli.commands (options, help, completion) call the same ones, so
both print the same. Time text ("07:00", "in 20m") is sent to the daemon as written: the
service reads it in the alarm's zone, in one place.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from alarmd.cli import bodies, quick, screens, shapes
from alarmd.cli import formatting as fmt
from alarmd.cli.session import Session
from alarmd.errors import BadInput


def _path(ref: str) -> str:
    from urllib.parse import quote

    if "/" in ref:
        # The daemon refuses such names: "wake/next" can only mean another route.
        raise BadInput("no alarm name contains '/'; give the alarm's id or its name.")
    return "/v1/alarms/" + quote(ref.strip(), safe="")


def _print_json(ctx: Session, value: Any) -> None:
    ctx.write(quick.json_text(value), None)


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


def add(ctx: Session, /, **options: Any) -> None:
    bodies.check_schedule(options, required=True)
    alarm = ctx.alarm("POST", "/v1/alarms", bodies.additions_of(options))
    ctx.echo(f"Added alarm {_label(alarm)}: {alarm['schedule']}, {_calling(alarm)}; {_next_text(alarm)}.")


def edit(ctx: Session, /, alarm: str, **options: Any) -> None:
    bodies.check_schedule(options, required=False)
    body = bodies.changes_of(options)
    if not body:
        raise BadInput("nothing to change: give at least one of --to, --at, --daily, --days, "
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


def list_(ctx: Session, as_json: bool) -> None:
    quick.show_list(ctx.api(), ctx.paint, as_json, ctx.echo)


def show(ctx: Session, alarm: str, as_json: bool) -> None:
    from alarmd import clock

    found = ctx.alarm("GET", _path(alarm))
    if as_json:
        _print_json(ctx, found)
        return
    fire_times = None
    if found.get("next_ring_at"):  # Then: the rings after it, from the same answer
        path = _path(str(found["id"])) + "/next"
        fire_times = shapes.fire_times(ctx.call("GET", path, query={"count": 4}), ctx.where("GET", path))
    ctx.echo(screens.alarm_detail(found, clock.now(), ctx.paint, fire_times))


def remove(ctx: Session, alarm: str) -> None:
    removed = ctx.alarm("DELETE", _path(alarm))
    ctx.echo(f"Removed alarm {_label(removed)}: {removed['schedule']}.")


def pause(ctx: Session, alarm: str, until: str | None) -> None:
    paused = ctx.alarm("POST", _path(alarm) + "/pause", {"until": until} if until is not None else None)
    if paused.get("paused_until"):
        until_text = fmt.local(paused["paused_until"], paused.get("tz"))
        ctx.echo(f"Paused alarm {_label(paused)} until {until_text}.")
    else:
        ctx.echo(f"Paused alarm {_label(paused)}; `alarmd resume {paused['id']}` brings it back.")


def resume(ctx: Session, alarm: str) -> None:
    resumed = ctx.alarm("POST", _path(alarm) + "/resume")
    ctx.echo(f"Resumed alarm {_label(resumed)}; {_next_text(resumed)}.")


def skip(ctx: Session, /, alarm: str, **days: str | None) -> None:
    skipped = ctx.alarm("POST", _path(alarm) + "/skip", bodies.days_body(days))
    ctx.echo(f"Alarm {_label(skipped)} will not ring at "
             f"{screens.instants_text(skipped.get('skipped') or [], skipped.get('tz'))}; {_next_text(skipped)}.")


def unskip(ctx: Session, /, alarm: str, **days: str | None) -> None:
    back = ctx.alarm("POST", _path(alarm) + "/unskip", bodies.days_body(days))
    ctx.echo(f"Alarm {_label(back)} will ring again at "
             f"{screens.instants_text(back.get('unskipped') or [], back.get('tz'))}; {_next_text(back)}.")


def dial(ctx: Session, number: str) -> None:
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


def history(ctx: Session, limit: int, alarm: str | None, as_json: bool) -> None:
    query = {"limit": limit, "alarm": alarm.strip() if alarm else None}
    calls = shapes.calls(ctx.call("GET", "/v1/calls", query=query), ctx.where("GET", "/v1/calls"))
    if as_json:
        _print_json(ctx, calls)
        return
    ctx.echo(screens.history_list(calls, ctx.paint))


def status(ctx: Session, as_json: bool) -> None:
    quick.show_status(ctx.api(), ctx.paint, as_json, ctx.echo)


def next_(ctx: Session, alarm: str | None, count: int, explain: bool, as_json: bool) -> None:
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
        _print_json(ctx, items)
        return
    ctx.echo(screens.fire_time_list(items, clock.now(), ctx.paint, explain=explain, zones=zones))


def has_display() -> bool:
    """Whether opening a browser would show one: on a server over SSH, Python's webbrowser
    would start a text browser in the terminal instead."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def web(ctx: Session, sign_out_all: bool, no_browser: bool) -> None:
    if sign_out_all:
        count = ctx.call("DELETE", "/v1/web/sessions")["signed_out"]
        noun = "session" if count == 1 else "sessions"
        ctx.echo(f"Signed out {count} web {noun}; every browser must sign in again.")
        return
    link = ctx.call("POST", "/v1/web/links")
    url = ctx.api().base + link["path"]
    ctx.echo(["Sign in to the web page with this link; it works once, for 10 minutes:", f"    {url}"])
    if not no_browser and has_display():
        import webbrowser

        webbrowser.open(url)


def config_reload(ctx: Session) -> None:
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
