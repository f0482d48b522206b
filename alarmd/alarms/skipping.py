"""Skipping rings, and taking skips back: the next ring, the rings of a date, or of a range of dates.

A skip is an instant in the alarm's skip_instants. claim_due records a skipped ring as
skipped, and a call already prepared is called off just before it goes out
(alarmd.calls.delivery). "The next ring" is what firetimes.rings says from
views.ring_from, the same answer list, show and next give: in the seconds between a
ring's claim and its due instant (callplan.LEAD) that is the claimed ring itself, so a
skip then stops the imminent call rather than marking the one after it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from alarmd.alarms import inputs
from alarmd.alarms.inputs import SkipDays, find_alarm
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.errors import BadInput
from alarmd.schedule import firetimes
from alarmd.store.models import Alarm
from alarmd.store.views import latest_occurrence, next_ring, ring_from, schedule_of, skipping

log = logging.getLogger("alarmd.service")

# Pending skips per alarm. A holiday of an every-minute cron would otherwise store tens of
# thousands of instants; this many is months of any household's alarms.
MAX_SKIPS = 1000


class Skips(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig, changed: Callable[[int], None]):
        self.sessions = sessions
        self.live = live
        self._changed = changed

    def skip(self, ref: int | str, days: SkipDays, now: datetime) -> dict[str, Any]:
        """Skip the next ring that would happen, or every ring on the local dates given.

        The answer is the alarm, with `skipped`: the instants the request is about.
        """
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            since = ring_from(alarm, latest_occurrence(session, alarm.id), now)
            span = inputs.day_span(days, alarm.tz, now)
            if since is None:
                raise BadInput(f"alarm {alarm.id} has no occurrence left to skip.")
            pending = skipping(alarm, since)
            if span is None:
                ring = next_ring(alarm, since)
                if ring is None:
                    raise BadInput(_nothing_rings(alarm))
                instants = [ring.at]
            else:
                instants = firetimes.instants_on_days(schedule_of(alarm), *span, since, MAX_SKIPS)
                if not instants:
                    raise BadInput(f"alarm {alarm.id} has no occurrence left {_days_text(span)} to skip.")
            skips = set(pending) | {i.isoformat() for i in instants}
            if len(skips) > MAX_SKIPS:
                raise BadInput(f"an alarm can skip at most {MAX_SKIPS:,} rings at a time; pause it instead.")
            alarm.skip_instants = json.dumps(sorted(skips))
            alarm.updated_at = now
            view = self.views.alarm(session, alarm) | {"skipped": [i.isoformat() for i in instants]}
        log.info("alarm %s will skip %s", view["id"], _instants_text(view["skipped"]))
        self._changed(view["id"])
        return view

    def unskip(self, ref: int | str, days: SkipDays, now: datetime) -> dict[str, Any]:
        """Take back the soonest skip, or the skips on the local dates given.

        The answer is the alarm, with `unskipped`: the instants that will ring again.
        """
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            since = ring_from(alarm, latest_occurrence(session, alarm.id), now)
            span = inputs.day_span(days, alarm.tz, now)
            pending = skipping(alarm, since)
            if span is None:
                back = pending[:1]
            else:
                zone = schedule_of(alarm).zone
                back = [s for s in pending if span[0] <= datetime.fromisoformat(s).astimezone(zone).date() <= span[1]]
            if not back:
                where = "" if span is None else f" {_days_text(span)}"
                raise BadInput(f"alarm {alarm.id} has no skipped ring{where} to take back.")
            alarm.skip_instants = json.dumps([s for s in pending if s not in back])
            alarm.updated_at = now
            view = self.views.alarm(session, alarm) | {"unskipped": back}
        log.info("alarm %s will ring again at %s", view["id"], _instants_text(back))
        self._changed(view["id"])
        return view


def _nothing_rings(alarm: Alarm) -> str:
    if alarm.paused and alarm.paused_until is None:
        return f"alarm {alarm.id} is paused, so no ring is coming to skip; resume it first."
    return f"alarm {alarm.id} has no occurrence left to skip."


def _days_text(span: tuple[date, date]) -> str:
    first, last = span
    return f"on {first.isoformat()}" if first == last else f"from {first.isoformat()} to {last.isoformat()}"


def _instants_text(instants: list[str]) -> str:
    if len(instants) <= 3:
        return ", ".join(instants)
    return f"{len(instants)} rings from {instants[0]} to {instants[-1]}"
