"""The `alarmd` command's printing primitives: tables, durations, local times, colour.

Pure functions over the API's JSON (and `now`), so tests can check the exact text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

# Outcomes worth a colour; anything else prints plain.
GOOD = {"accepted", "completed", "answered", "in-progress", "ringing", "queued", "active", "up"}
BAD = {"failed", "missed", "busy", "no-answer", "canceled", "error", "refused", "down", "broken:"}
MILD = {"paused", "skipped", "dry-run", "dialling", "claimed", "done"}


def use_colour(is_tty: bool, no_color: str | None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return is_tty and not no_color


# The ANSI SGR codes for the few styles used; the same sequences click.style writes.
FOREGROUND = {"red": 31, "green": 32, "yellow": 33}


class Painter:
    """ANSI colour when colour is on, the text unchanged when it is off."""

    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        if not self.colour or not text:
            return text
        codes = ([f"\x1b[{FOREGROUND[fg]}m"] if fg else []) + (["\x1b[1m"] if bold else [])
        return "".join(codes) + text + "\x1b[0m"

    def outcome(self, text: str) -> str:
        word = text.split(" ", 1)[0]
        if word in GOOD:
            return self(text, fg="green")
        if word in BAD:
            return self(text, fg="red", bold=True)
        if word in MILD or word == "skipping":
            return self(text, fg="yellow")
        return text


Cell = str | tuple[str, str]  # plain text, or (plain text, the same text painted)


def table(rows: Sequence[Sequence[Cell]], paint: Painter) -> list[str]:
    """Left-aligned columns two spaces apart; widths from the plain text, so colour never skews them."""
    plain = [[c if isinstance(c, str) else c[0] for c in row] for row in rows]
    widths = [max(len(row[i]) for row in plain) for i in range(len(plain[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            text, shown = (cell, cell) if isinstance(cell, str) else cell
            if number == 0:
                shown = paint(text, bold=True)
            pad = " " * (widths[i] - len(text)) if i < len(row) - 1 else ""
            cells.append(shown + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


# --- values ---------------------------------------------------------------------------


def parse_iso(value: str) -> datetime:
    instant = datetime.fromisoformat(value)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def zone_or_local(tz: str | None) -> ZoneInfo | None:
    """The alarm's zone; None means the machine's own (datetime.astimezone() with no argument)."""
    if not tz:
        return None
    # Imported here: JSON and the sentences that name no local time need no zone data.
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError):
        return None


def local(value: str | None, tz: str | None = None, *, zone_name: bool = True) -> str:
    """"Fri 2026-11-27 07:00 GMT": an ISO instant as wall time in `tz` with its weekday."""
    if not value:
        return "-"
    instant = parse_iso(value)
    try:
        shown = instant.astimezone(zone_or_local(tz))
    except OverflowError:  # near year 9999 (stored before instants were bounded): shown as given
        shown = instant
    text = shown.strftime("%a %Y-%m-%d %H:%M")
    return f"{text} {shown.strftime('%Z')}".rstrip() if zone_name else text


def left(delta: timedelta) -> str:
    """Time until an instant, as systemctl list-timers writes it: "8h 12min", "2 days 3h", "45s"."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "-"
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}min" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    unit = "day" if days == 1 else "days"
    return f"{days} {unit} {hours}h" if hours else f"{days} {unit}"


def until(value: str | None, now: datetime) -> str:
    return left(parse_iso(value) - now) if value else "-"


def number(to: dict[str, Any] | None) -> str:
    """The number's name, and its digits (already masked by the daemon when `secret`)."""
    if not to:
        return "-"
    name, digits = to.get("name"), to.get("number")
    if name and digits:
        return f"{name} ({digits})"
    return str(name or digits or f"#{to.get('ref')} (not configured)")


def alarm_label(alarm_id: Any, name: str | None) -> str:
    return f"{name} (#{alarm_id})" if name and alarm_id is not None else str(name or f"#{alarm_id}")


def state(alarm: dict[str, Any]) -> str:
    """"active", "paused", "paused until Sat 2026-11-28 07:00", "skipping Fri 2026-11-27", "done", or
    "broken: HOME is not configured" (whatever else holds, it would call nobody)."""
    kind = alarm.get("state") or "active"
    if alarm.get("broken") and kind != "done":
        return f"broken: {alarm['broken']}"
    if kind == "paused":
        until_text = alarm.get("paused_until")
        if not until_text:
            return "paused"
        return f"paused until {local(until_text, alarm.get('tz'), zone_name=False)}"
    if kind != "active":
        return str(kind)
    skipping = alarm.get("skipping") or []
    if skipping:
        # The day of the first skip, never "skipping next": NEXT already shows the ring
        # that will happen, so "next" would read as that one.
        first = min(parse_iso(s) for s in skipping)
        more = f" +{len(skipping) - 1}" if len(skipping) > 1 else ""
        return f"skipping {first.astimezone(zone_or_local(alarm.get('tz'))):%a %Y-%m-%d}{more}"
    return "active"


def last(alarm: dict[str, Any]) -> str:
    previous = alarm.get("last")
    if not previous:
        return "-"
    when = local(previous.get("scheduled_at"), alarm.get("tz"), zone_name=False)
    return f"{when} {previous.get('status')}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- whole outputs --------------------------------------------------------------------


def sort_by_next(alarms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The soonest ring first; alarms that will not ring (paused for good, then done) last,
    newest first among them."""
    def key(a: dict[str, Any]) -> tuple[bool, bool, datetime, int]:
        nxt = a.get("next_ring_at")
        when = parse_iso(nxt) if nxt else datetime.max.replace(tzinfo=UTC)
        return (nxt is None, a.get("state") == "done", when, -int(a.get("id") or 0))

    return sorted(alarms, key=key)
