"""What the page says in words: countdowns, local times, and how a call went.

The script (static/app.js) keeps countdowns current with the same rule as countdown().
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def countdown(at: datetime, now: datetime) -> str:
    """ "in 7 h 12 min", "in 45 min", "in 2 d 3 h"; the minutes are rounded up, as a clock's are."""
    seconds = (at - now).total_seconds()
    if seconds <= 0:
        return "now"
    minutes = int(-(-seconds // 60))
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    days, hours = divmod(hours, 24)
    return f"in {days} d {hours} h" if hours else f"in {days} d"


def local(instant: datetime, zone: str, now: datetime | None = None) -> str:
    """ "Mon 07:00" within a week of `now`, "Mon 24 Dec 07:00" further off, with the year
    when it is another year's."""
    there = instant.astimezone(ZoneInfo(zone))
    if now is not None and abs((instant - now).total_seconds()) < 6 * 86_400:
        return f"{there:%a %H:%M}"
    year = f" {there.year}" if now is None or now.astimezone(there.tzinfo).year != there.year else ""
    return f"{there:%a} {there.day} {there:%b}{year} {there:%H:%M}"


def parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# Twilio's final statuses and alarmd's own, as a person says them.
CALL_WORDS = {
    "completed": "answered", "answered": "answered", "busy": "busy", "no-answer": "no answer",
    "unanswered": "no answer", "canceled": "cancelled", "machine": "voicemail", "voicemail": "voicemail",
    "dry-run": "dry-run: nobody was called", "skipped": "skipped", "missed": "missed",
    "refused": "refused", "failed": "failed", "error": "failed",
    "claimed": "calling…", "dialling": "calling…", "requesting": "calling…", "accepted": "calling…",
    "queued": "calling…", "ringing": "ringing…", "in-progress": "answered",
}
IN_FLIGHT = frozenset({"claimed", "dialling", "accepted"})


def picked_up_by(attempt: dict[str, Any]) -> str | None:
    """ "voicemail" or "fax" when answering machine detection heard one (require_human)."""
    who = str(attempt.get("answered_by") or "")
    if who == "fax":
        return "fax"
    return "voicemail" if who.startswith("machine") else None


def outcome(call: dict[str, Any]) -> str:
    """How an occurrence went: "answered", "no answer", "busy", "voicemail", "failed: the reason", ..."""
    status = str(call.get("status"))
    attempts = call.get("attempts") or []
    last = attempts[-1] if attempts else {}
    if status == "unanswered" and picked_up_by(last):
        return f"{picked_up_by(last)}: nobody awake answered"
    if status == "unanswered" and last.get("status") == "busy":
        status = "busy"
    words = CALL_WORDS.get(status, status)
    reason = call.get("detail") or (last.get("error_message") if status in ("failed", "refused") else None)
    if status in ("failed", "missed", "skipped", "refused") and reason:
        return f"{words}: {reason}"
    return words


def attempt_outcome(attempt: dict[str, Any]) -> str:
    words = CALL_WORDS.get(str(attempt.get("status")), str(attempt.get("status")))
    if attempt.get("status") == "completed" and picked_up_by(attempt):
        words = str(picked_up_by(attempt))
    if attempt.get("error_message"):
        return f"{words}: {attempt['error_message']}"
    if attempt.get("duration_seconds"):
        return f"{words}, {attempt['duration_seconds']} s"
    return words
