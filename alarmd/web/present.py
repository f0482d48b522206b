"""What the pages show, from what the service returns: one plain dict per thing on the page.

Templates only lay these out; every number named here went through alarmd.web.privacy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alarmd.alarms.service import AlarmService
from alarmd.web import words
from alarmd.web.privacy import Privacy


def broken(privacy: Privacy, alarm: dict[str, Any]) -> str | None:
    """Why the alarm can call nobody (the service's sentence: "HOME is not configured"), or None."""
    return privacy.scrub(alarm["broken"]) if alarm.get("broken") and alarm["state"] != "done" else None


def alarm_item(privacy: Privacy, alarm: dict[str, Any], now: datetime) -> dict[str, Any]:
    why_broken = broken(privacy, alarm)
    # A broken alarm rings nobody: no next ring is promised for it.
    ring = None if why_broken else words.parse(alarm.get("next_ring_at"))
    zone = alarm["tz"]
    state = alarm["state"]
    paused_until = words.parse(alarm.get("paused_until"))
    if why_broken:
        state_text = f"broken: {why_broken}"
    elif state == "paused":
        state_text = f"paused until {words.local(paused_until, zone, now)}" if paused_until else "paused"
    elif alarm.get("skipping"):
        state_text = "skipping next" if len(alarm["skipping"]) == 1 else f"skipping {len(alarm['skipping'])} rings"
    else:
        state_text = state
    return {
        "id": alarm["id"],
        "name": alarm.get("name") or f"Alarm {alarm['id']}",
        "schedule": alarm["schedule"],
        "who": privacy.who(alarm.get("to")),
        "then": privacy.who(alarm["then"]) if alarm.get("then") else None,
        "zone": zone,
        "ring": ring,
        "ring_iso": ring.isoformat() if ring else None,
        "ring_local": words.local(ring, zone, now) if ring else None,
        "countdown": words.countdown(ring, now) if ring else None,
        "state": state,
        "state_text": state_text,
        "paused": state == "paused",
        "skipping": bool(alarm.get("skipping")),
        "can_skip": ring is not None,
        "broken": why_broken,
    }


def main_page(service: AlarmService, privacy: Privacy, now: datetime) -> dict[str, Any]:
    # The parts of service.status() the page shows, without the rest it would also compute
    # (the next alarm's and the last call's views): a fifth of the page's time.
    zone = service.settings.timezone
    items = [alarm_item(privacy, a, now) for a in service.list_alarms()]
    ringing = sorted((i for i in items if i["ring"] is not None), key=lambda i: (i["ring"], i["id"]))
    keepalive = service.keepalive_status(now)
    warnings = [privacy.scrub(keepalive["warning"])] if keepalive.get("warning") else []
    warnings += [_sentence(privacy.scrub(w)) for w in service.warnings()]
    due = words.parse(keepalive.get("next_due"))
    return {
        "alarms": sorted(items, key=lambda i: (i["ring"] is None, i["ring"] or now, i["id"])),
        "next": ringing[0] if ringing else None,
        "dry_run": service.dialer.mode == "dry-run",
        "dry_run_reason": service.settings.twilio.dry_run_reason,
        "zone": zone,
        "keepalive_next": words.local(due, zone, now) if due else None,
        "warnings": warnings,
    }


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def test_calls(service: AlarmService, privacy: Privacy, now: datetime, zone: str) -> list[dict[str, Any]]:
    """One button per dialable number, with how its latest test call went."""
    latest: dict[int, dict[str, Any]] = {}
    for call in service.history(limit=50):
        index = (call.get("to") or {}).get("index")
        if call.get("reason") == "dial" and isinstance(index, int) and index not in latest:
            latest[index] = call
    found = []
    for entry in privacy.testable():
        last = latest.get(entry.index)
        at = words.parse(last["scheduled_at"]) if last else None
        found.append({
            "index": entry.index,
            "label": entry.name or entry.display,
            "last": f"{privacy.scrub(words.outcome(last))} ({words.local(at, zone, now)})" if last and at else None,
            "in_flight": bool(last and last["status"] in words.IN_FLIGHT),
        })
    return found


def call_item(privacy: Privacy, call: dict[str, Any], zone: str, now: datetime) -> dict[str, Any]:
    at = words.parse(call["scheduled_at"])
    assert at is not None
    reason = {"alarm": call.get("alarm_name") or f"Alarm {call.get('alarm_id')}",
              "dial": "Test call", "keepalive": "Keepalive"}.get(call["reason"], call["reason"])
    return {
        "id": call["id"],
        "when": words.local(at, zone, now),
        "iso": at.isoformat(),
        "what": reason if call["reason"] != "alarm" or call.get("alarm_name") else f"Alarm {call.get('alarm_id')}",
        "who": privacy.who(call.get("to")),
        "outcome": privacy.scrub(words.outcome(call)),
        "in_flight": call["status"] in words.IN_FLIGHT,
        "attempts": [{"who": privacy.attempt_who(a), "outcome": privacy.scrub(words.attempt_outcome(a))}
                     for a in call.get("attempts") or []],
    }
