"""What `list`, `show`, `history`, `next` and `status` print, line by line.

Built from the primitives in alarmd.cli.formatting; pure functions over the API's JSON
(and `now`), so tests can check the exact text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alarmd.cli.formatting import (
    Cell,
    Painter,
    alarm_label,
    last,
    local,
    number,
    parse_iso,
    plural,
    sort_by_next,
    state,
    table,
    until,
)


def alarm_list(alarms: list[dict[str, Any]], now: datetime, paint: Painter) -> list[str]:
    rows: list[list[Cell]] = [["NEXT", "LEFT", "LAST", "ID", "NAME", "TO", "SCHEDULE", "STATE"]]
    for a in sort_by_next(alarms):
        last_text, state_text = last(a), state(a)
        last_cell: Cell = last_text
        if a.get("last"):
            outcome = str(a["last"].get("status"))
            last_cell = (last_text, last_text[: -len(outcome)] + paint.outcome(outcome))
        rows.append([local(a.get("next_ring_at"), a.get("tz")), until(a.get("next_ring_at"), now),
                     last_cell, str(a["id"]), a.get("name") or "-", number(a.get("to")),
                     a.get("schedule") or "-", (state_text, paint.outcome(state_text))])
    footer = f"{plural(len(alarms), 'alarm')} listed."
    if not alarms:
        return [footer]
    return [*table(rows, paint), "", footer]


def alarm_detail(alarm: dict[str, Any], now: datetime, paint: Painter,
                 fire_times: list[dict[str, Any]] | None = None) -> list[str]:
    tz = alarm.get("tz")
    fields: list[tuple[str, str]] = [
        ("Alarm", alarm_label(alarm.get("id"), alarm.get("name"))),
        ("Schedule", str(alarm.get("schedule"))),
        ("Calls", number(alarm.get("to"))),
        ("State", paint.outcome(state(alarm))),
        ("Next", f"{local(alarm.get('next_ring_at'), tz)} (in {until(alarm.get('next_ring_at'), now)})"
         if alarm.get("next_ring_at") else "-"),
        ("Last", last(alarm)),
        ("Grace", f"{alarm.get('grace_seconds')} s (how late it may still ring after a restart)"),
        ("Created", local(alarm.get("created_at"), tz)),
    ]
    # The rings after Next, from the same answer (firetimes.rings) that Next comes from.
    after = [f for f in fire_times or [] if alarm.get("next_ring_at") and f.get("at") != alarm["next_ring_at"]]
    if after:
        fields.append(("Then", ", ".join(local(f.get("at"), tz, zone_name=False) for f in after)))
    if alarm.get("broken") and alarm.get("state") != "done":
        fields.append(("Warning", paint(f"it will call nobody until `alarmd edit {alarm.get('id')} --to NAME`",
                                        fg="red", bold=True)))
    width = max(len(k) for k, _ in fields) + 1
    return [f"{paint(k + ':', bold=True)}{' ' * (width - len(k))}{v}" for k, v in fields]


def next_text(alarm: dict[str, Any], now: datetime) -> str:
    """"next Thu 2026-12-03 07:00 GMT (in 14h 28min)": the ring that will happen, as list shows it."""
    if alarm.get("next_ring_at"):
        return f"next {local(alarm['next_ring_at'], alarm.get('tz'))} (in {until(alarm['next_ring_at'], now)})"
    if alarm.get("state") == "paused":
        return "it is paused and will not ring until resumed"
    return "it will not ring again"


def instants_text(instants: list[str], tz: str | None) -> str:
    """A few instants one by one; more as a span ("8 rings from … to …")."""
    if len(instants) <= 3:
        return ", ".join(local(i, tz) for i in instants)
    return f"{len(instants)} rings from {local(instants[0], tz)} to {local(instants[-1], tz)}"


def history_list(calls: list[dict[str, Any]], paint: Painter) -> list[str]:
    if not calls:
        return ["No calls yet."]
    rows: list[list[Cell]] = [["WHEN", "ALARM", "TO", "STATUS", "DETAIL"]]
    for c in calls:
        attempts = c.get("attempts") or []
        final = attempts[-1] if attempts else None
        detail = c.get("detail") or (final and (final.get("error_message") or final.get("sid"))) or ""
        who = caller(c)
        status_text = str(c.get("status"))
        rows.append([local(c.get("scheduled_at")), who, number(c.get("to")),
                     (status_text, paint.outcome(status_text)), str(detail)])
    return table(rows, paint)


def caller(call: dict[str, Any]) -> str:
    """Whose call it was: "wake (#1)", "wake (#1, removed)", "#2 (removed)", or its reason."""
    alarm_id, name = call.get("alarm_id"), call.get("alarm_name")
    if not alarm_id:
        return str(call.get("reason"))
    if call.get("alarm_removed"):
        return f"{name} (#{alarm_id}, removed)" if name else f"#{alarm_id} (removed)"
    return alarm_label(alarm_id, name)


def fire_time_list(items: list[dict[str, Any]], now: datetime, paint: Painter, *, explain: bool,
                   zones: dict[Any, str | None]) -> list[str]:
    """`alarmd next`: one row per instant; --explain adds UTC and the DST notes."""
    if not items:
        return ["No alarm will ring."]
    header: list[Cell] = ["WHEN", "LEFT", "ALARM"]
    if explain:
        header = ["LOCAL", "UTC", "LEFT", "ALARM", "NOTE"]
    rows: list[list[Cell]] = [header]
    for item in items:
        alarm_id = item.get("alarm_id", item.get("alarm"))
        who = alarm_label(alarm_id, item.get("alarm_name"))
        tz = zones.get(alarm_id)
        local_text = local(item.get("local") or item.get("at"), tz) if tz else _own_offset(item)
        if not explain:
            rows.append([local_text, until(item.get("at"), now), who])
            continue
        utc_text = parse_iso(str(item["at"])).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        note = explain_note(item)
        rows.append([local_text, utc_text, until(item.get("at"), now), who, (note, paint(note, fg="yellow"))])
    return table(rows, paint)


def _own_offset(item: dict[str, Any]) -> str:
    # No zone name known: the local ISO text still carries the right offset.
    value = item.get("local") or item.get("at")
    if not value:
        return "-"
    shown = parse_iso(str(value))
    return f"{shown:%a %Y-%m-%d %H:%M} {shown:%z}"


def explain_note(item: dict[str, Any]) -> str:
    notes = []
    if item.get("gap_moved"):
        notes.append("moved forward: that wall time does not exist (DST gap)")
    if item.get("repeated_hour"):
        notes.append("rings once: that wall time happens twice (DST repeat)")
    return "; ".join(notes)


def status_lines(info: dict[str, Any], paint: Painter) -> list[str]:
    mode = f"{info.get('mode')} mode"
    if info.get("dry_run_reason"):
        mode = paint(f"{mode} ({info['dry_run_reason']})", fg="yellow")
    scheduler = f", scheduler {info['scheduler']}" if info.get("scheduler") not in (None, "running") else ""
    lines = [
        ("Daemon", f"{paint('up', fg='green')}, alarmd {info.get('version')}, {mode}{scheduler}"),
        ("Zone", str(info.get("timezone") or "-")),
        ("Alarms", str(info.get("alarms", "-"))),
    ]
    nxt = info.get("next_alarm")
    if nxt:
        lines.append(("Next alarm", f"{local(nxt.get('next_ring_at'), nxt.get('tz'))}, "
                      f"{alarm_label(nxt.get('id'), nxt.get('name'))} ({nxt.get('schedule')})"))
    else:
        lines.append(("Next alarm", "none"))
    zone = info.get("timezone")  # the daemon's zone: where keepalive and dial times are meant
    call = info.get("last_call")
    if call:
        who = caller(call)
        lines.append(("Last call", f"{local(call.get('scheduled_at'), zone)}, {who} to {number(call.get('to'))}: "
                      f"{paint.outcome(str(call.get('status')))}"))
    else:
        lines.append(("Last call", "none yet"))
    keepalive = info.get("keepalive")
    if isinstance(keepalive, dict):
        if not keepalive.get("enabled"):
            lines.append(("Keepalive", "off (alarmd.keepalive.enabled is false or twilio.phoneNumbers is empty)"))
        else:
            accepted = keepalive.get("last_accepted_call")
            lines.append(("Keepalive", f"next {local(keepalive.get('next_due'), zone)}, last accepted call "
                          + (local(accepted, zone) if accepted else "none yet")))
        if keepalive.get("warning"):
            lines.append(("Warning", paint(str(keepalive["warning"]), fg="red", bold=True)))
    for warning in info.get("warnings") or []:
        lines.append(("Warning", paint(str(warning), fg="red", bold=True)))
    width = max(len(k) for k, _ in lines) + 1
    return [f"{paint(k + ':', bold=True)}{' ' * (width - len(k))}{v}" for k, v in lines]
