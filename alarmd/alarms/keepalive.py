"""The keepalive call's use cases: gather its history from the tables, claim it when due, warn.

The math (when it is due, its retries, the at-risk warning) is pure and lives in
alarmd.schedule.keepalive; this module reads the facts it needs and writes the claim.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alarmd.alarms import pins
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.errors import UnknownNumber
from alarmd.schedule import keepalive, rules
from alarmd.store.insert import insert_new, put_state
from alarmd.store.models import Attempt, Occurrence, StateEntry
from alarmd.store.views import iso

log = logging.getLogger("alarmd.service")

# `state` keys: the daemon's first start; when the keepalive warning was last logged.
FIRST_START = "first_start"
WARNING_LOGGED = "keepalive_warning_logged"


class Keepalive(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig):
        self.sessions = sessions
        self.live = live

    def record_first_start(self, now: datetime) -> datetime:
        """Remember the daemon's first start (the keepalive's clock before any call); return it."""
        with self.sessions.begin() as session:
            insert_new(session, StateEntry, {"key": FIRST_START, "value": now.isoformat()}, "key")
            return _instant(session.get_one(StateEntry, FIRST_START).value)

    def plan(self) -> keepalive.Plan | None:
        """The keepalive settings, or None when it is off (disabled, or no number to call)."""
        conf = self.settings.keepalive
        if not conf.enabled or not self.phonebook.entries:
            return None
        return keepalive.Plan(conf.every_days, rules.parse_time_of_day(conf.at),
                              rules.zone(self.settings.timezone))

    def history(self, now: datetime) -> keepalive.History:
        with self.sessions() as session:
            stored = session.get(StateEntry, FIRST_START)
            last_accepted = session.scalar(
                select(func.max(Attempt.started_at)).where(Attempt.sid.is_not(None)))
            last_dry_run = session.scalar(
                select(func.max(Attempt.started_at)).join(Occurrence)
                .where(Occurrence.reason == "keepalive", Attempt.dialer == "dry-run"))
            first_start = _instant(stored.value) if stored else now
            history = keepalive.History(first_start, last_accepted, last_dry_run)
            # Every keepalive claimed after the last call that counted got none accepted.
            tries = session.execute(
                select(Occurrence.created_at, Occurrence.finished_at)
                .where(Occurrence.reason == "keepalive", Occurrence.created_at > history.since)).all()
        failures = sorted(keepalive.failed_at(claimed, finished) for claimed, finished in tries)
        return keepalive.History(first_start, last_accepted, last_dry_run, tuple(failures))

    def wake_at(self, now: datetime) -> datetime | None:
        """When the keepalive job should next run: the next call or the next warning log line."""
        plan = self.plan()
        if plan is None:
            return None
        history = self.history(now)
        logged = self._state_instant(WARNING_LOGGED)
        return min(keepalive.next_due(history, plan), keepalive.next_warning_log(history, plan, logged))

    def claim(self, now: datetime) -> int | None:
        """Claim the keepalive call if it is due by `now`; the occurrence to dial, or None.

        The claim key is the instant it fell due, so a restart or a second daemon that
        computes the same instant from the same rows claims nothing.
        """
        plan = self.plan()
        if plan is None:
            return None
        due = keepalive.next_due(self.history(now), plan)
        if due > now:
            return None
        ref = str(self.settings.keepalive.number)
        with self.sessions.begin() as session:
            try:
                entry = pins.keepalive_target(session, ref, self.phonebook)
            except UnknownNumber:
                entry = None  # refused by the config check; recorded failed if it ever gets here
            # scheduled_at is now, not `due`: a keepalive late after downtime is still
            # wanted, and nothing judging lateness by scheduled_at may call it missed.
            occurrence_id = insert_new(session, Occurrence, {
                "claim_key": f"keepalive:{due.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}", "reason": "keepalive",
                "to_ref": ref, "to_name": entry.name if entry else None,
                "to_number": entry.number if entry else None, "scheduled_at": now, "status": "claimed",
                "created_at": now}, "claim_key", returning=Occurrence.id)
        if occurrence_id is not None:
            log.info("keepalive call due %s claimed", iso(due.astimezone(plan.zone)))
        return occurrence_id

    def warning(self, now: datetime) -> str | None:
        plan = self.plan()
        return keepalive.warning(self.history(now), plan, now) if plan else None

    def log_warning(self, now: datetime) -> None:
        """Log the at-risk warning, at most once a day (remembered across restarts)."""
        plan = self.plan()
        if plan is None:
            return
        history = self.history(now)
        text = keepalive.warning(history, plan, now)
        logged = self._state_instant(WARNING_LOGGED)
        if text is None or keepalive.next_warning_log(history, plan, logged) > now:
            return
        why = ("alarmd is in dry-run mode, so no call reaches Twilio" if self.dialer.mode == "dry-run"
               else "the keepalive call is retried until Twilio accepts one")
        log.warning("%s; %s", text, why)
        with self.sessions.begin() as session:
            put_state(session, WARNING_LOGGED, now.isoformat())

    def status(self, now: datetime) -> dict[str, Any]:
        """`keepalive` in status: {enabled, last_accepted_call, next_due, warning}, local ISO."""
        plan = self.plan()
        history = self.history(now)
        zone = rules.zone(self.settings.timezone)
        last = history.last_accepted
        return {
            "enabled": plan is not None,
            "last_accepted_call": iso(last.astimezone(zone)) if last else None,
            "next_due": iso(keepalive.next_due(history, plan).astimezone(zone)) if plan else None,
            "warning": keepalive.warning(history, plan, now) if plan else None,
        }

    def _state_instant(self, key: str) -> datetime | None:
        with self.sessions() as session:
            entry = session.get(StateEntry, key)
            return _instant(entry.value) if entry else None


def _instant(text: str) -> datetime:
    """A stored ISO instant; one without an offset (written by hand) is UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
