"""The verbs that read: list, show, status, next and history, as text or --json.

Each asks the daemon, checks the answer holds what it prints (alarmd.cli.shapes), and
prints it through alarmd.cli.screens.
"""

from __future__ import annotations

import click

from alarmd.cli import formatting as fmt
from alarmd.cli import screens, shapes
from alarmd.cli.context import Context, json_text, pass_ctx
from alarmd.cli.support import alarm_argument, alarm_path, complete_alarm, json_option
from alarmd.errors import DaemonUnavailable


@click.command("list")
@json_option()
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """List alarms, soonest first (like systemctl list-timers)."""
    from alarmd import clock

    alarms = fmt.sort_by_next(shapes.alarms(ctx.call("GET", "/v1/alarms"), ctx.where("GET", "/v1/alarms")))
    ctx.echo(json_text(alarms) if as_json else screens.alarm_list(alarms, clock.now(), ctx.paint))


@click.command("show")
@alarm_argument()
@json_option()
@pass_ctx
def show(ctx: Context, alarm: str, as_json: bool) -> None:
    """Everything about one alarm."""
    from alarmd import clock

    found = ctx.alarm("GET", alarm_path(alarm))
    if as_json:
        ctx.echo_json(found)
        return
    fire_times = None
    if found.get("next_ring_at"):  # Then: the rings after it, from the same answer
        path = alarm_path(str(found["id"])) + "/next"
        fire_times = shapes.fire_times(ctx.call("GET", path, query={"count": 4}), ctx.where("GET", path))
    ctx.echo(screens.alarm_detail(found, clock.now(), ctx.paint, fire_times))


@click.command("history")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--alarm", metavar="ALARM", shell_complete=complete_alarm, help="Only this alarm (id or name).")
@json_option()
@pass_ctx
def history(ctx: Context, limit: int, alarm: str | None, as_json: bool) -> None:
    """Calls placed (and missed), newest first."""
    query = {"limit": limit, "alarm": alarm.strip() if alarm else None}
    calls = shapes.calls(ctx.call("GET", "/v1/calls", query=query), ctx.where("GET", "/v1/calls"))
    if as_json:
        ctx.echo_json(calls)
        return
    ctx.echo(screens.history_list(calls, ctx.paint))


@click.command("status")
@json_option()
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Is the daemon up, in which mode, and what is next."""
    api, paint = ctx.api(), ctx.paint
    try:
        info = api.request("GET", "/v1/status")
    except DaemonUnavailable as exc:
        # Down is an answer, not only an error: say it on stdout too, then fail.
        ctx.echo(json_text({"daemon": "down", "error": str(exc)}) if as_json
                 else f"{paint('Daemon:', bold=True)}     {paint('down', fg='red', bold=True)}")
        raise
    info = {"daemon": "up", **shapes.status(info, f"{api.base} (GET /v1/status)")}
    ctx.echo(json_text(info) if as_json else screens.status_lines(info, paint))


@click.command("next")
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
        found = ctx.alarm("GET", alarm_path(alarm))
        path = alarm_path(str(found["id"])) + "/next"
        answer = shapes.fire_times(ctx.call("GET", path, query={"count": count}), ctx.where("GET", path))
        items = [{"alarm_id": found["id"], "alarm_name": found.get("name"), **item} for item in answer]
        zones = {found["id"]: found.get("tz")}
    else:
        items = shapes.fire_times(ctx.call("GET", "/v1/next", query={"count": count}), ctx.where("GET", "/v1/next"))
        zones = ({a["id"]: a.get("tz") for a in shapes.alarms(ctx.call("GET", "/v1/alarms"),
                                                               ctx.where("GET", "/v1/alarms"))} if items else {})
    if as_json:
        ctx.echo_json(items)
        return
    ctx.echo(screens.fire_time_list(items, clock.now(), ctx.paint, explain=explain, zones=zones))
