"""The use cases, one method each. The CLI, the API and the scheduler all come here.

Methods return JSON-ready dicts (the API's and the CLI's shapes live in one place) and
raise alarmd.errors for bad input. Instants in and out are aware UTC.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from alarmd import __version__, clock
from alarmd.calls import callplan, costguard, delivery
from alarmd.calls.dialers.base import Dialer
from alarmd.config.settings import Settings
from alarmd.errors import BadInput, Conflict, LimitExceeded, NoSuchAlarm
from alarmd.phonebook import Phonebook, PhoneNumber
from alarmd.schedule import firetimes, keepalive, rules, timeparse
from alarmd.schedule.rules import Schedule
from alarmd.store.models import Alarm, Attempt, Occurrence, StateEntry
from alarmd.store.views import Views, iso, latest_occurrences, schedule_of

log = logging.getLogger("alarmd.service")

# A one-off "at" this close to the past means "now" (NMO's clock and ours differ a little).
PAST_TOLERANCE = timedelta(seconds=60)
MAX_AHEAD = timedelta(days=366)
MAX_NAME_LENGTH = 100
# However long the daemon was down, at most this many missed occurrences are written per
# alarm (a once-a-minute cron down for a week would otherwise write 10,000 rows).
MAX_MISSED_RECORDED = 50
# More than this many stored alarms is a runaway script, not a household (HTTP 409).
MAX_ALARMS = 10_000
# `state` keys: the daemon's first start; when the keepalive warning was last logged.
FIRST_START = "first_start"
WARNING_LOGGED = "keepalive_warning_logged"


@dataclass(frozen=True)
class AlarmInput:
    """A new alarm as a person or NMO describes it, not yet checked."""

    to: int | str
    at: str | None = None
    daily: str | None = None
    days: str | None = None
    cron: str | None = None
    tz: str | None = None
    name: str | None = None
    grace_seconds: int | None = None
    then: int | str | None = None  # fallback number, rung when the first goes unanswered
    ring_seconds: int | None = None
    say: str | None = None
    redial_attempts: int | None = None
    redial_interval_seconds: int | None = None


class AlarmService:
    def __init__(self, sessions: sessionmaker[Session], dialer: Dialer, settings: Settings,
                 phonebook: Phonebook):
        self.sessions = sessions
        self.dialer = dialer
        self.settings = settings
        self.phonebook = phonebook
        self.views = Views(phonebook)
        self._listeners: list[Callable[[int], None]] = []
        self._in_flight = 0
        self._idle = threading.Condition()
        # Set by the daemon when it stops: every wait in a delivery returns at once.
        self.stopping = threading.Event()
        self.owner = delivery.owner_id()
        self.delivery = delivery.Delivery(sessions, dialer, settings, phonebook, self.stopping, self.owner)
        self._dispatch: Callable[[int], None] | None = None
        self.on_alarm_change(self.delivery.alarm_changed)

    # --- wiring -------------------------------------------------------------------

    def on_alarm_change(self, listener: Callable[[int], None]) -> None:
        """Call `listener(alarm_id)` after an alarm is added, changed or removed."""
        self._listeners.append(listener)

    def _changed(self, alarm_id: int) -> None:
        for listener in self._listeners:
            listener(alarm_id)

    # --- alarms -------------------------------------------------------------------

    def add_alarm(self, given: AlarmInput, now: datetime) -> dict[str, Any]:
        name = self._check_name(given.name)
        entry = self.phonebook.resolve(given.to)
        tz = given.tz or self.settings.timezone
        schedule = self._schedule(given, tz, now)
        grace = self.settings.grace_seconds if given.grace_seconds is None else given.grace_seconds
        if not 0 <= grace <= 86_400:
            raise BadInput(f"grace_seconds must be from 0 to 86400, not {grace}.")
        first = self._first_fire(schedule, now)
        if schedule.kind == "once":
            # A one-off a few seconds in the past means now: store it as now, so it is
            # its own occurrence instant and no grace window can call it missed.
            schedule = Schedule("once", tz, at=first)
        redial = self._check_redial(given)
        with self.sessions.begin() as session:
            if name is not None and session.scalar(select(Alarm.id).where(Alarm.name == name)):
                raise Conflict(f"an alarm named {name!r} already exists.")
            self._check_room(session)
            alarm = Alarm(
                name=name,
                kind=schedule.kind,
                at=schedule.at,
                time_of_day=f"{schedule.time_of_day:%H:%M}" if schedule.time_of_day else None,
                days=",".join(str(d) for d in sorted(schedule.days)) if schedule.kind == "daily" else None,
                cron=schedule.cron,
                tz=tz,
                to_ref=_ref_text(given.to, entry),
                grace_seconds=grace,
                paused=False,
                skip_instants="[]",
                **redial,
                next_fire_at=first,
                created_at=now,
                updated_at=now,
            )
            session.add(alarm)
            session.flush()
            view = self.views.alarm(session, alarm)
        log.info("alarm %s added: %s, calling %s, next %s", view["id"], view["schedule"],
                 entry.label(), view["next_fire_at"])
        self._changed(view["id"])
        return view

    def list_alarms(self) -> list[dict[str, Any]]:
        with self.sessions() as session:
            alarms = session.scalars(select(Alarm)).all()
            latest = latest_occurrences(session)
            views = [self.views.alarm(session, alarm, latest) for alarm in alarms]
        # Soonest first; spent one-offs (no next) last, newest first among them.
        return sorted(views, key=lambda v: (v["next_fire_at"] is None, v["next_fire_at"] or "", -v["id"]))

    def get_alarm(self, ref: int | str) -> dict[str, Any]:
        with self.sessions() as session:
            return self.views.alarm(session, self._find(session, ref))

    def remove_alarm(self, ref: int | str) -> dict[str, Any]:
        with self.sessions.begin() as session:
            alarm = self._find(session, ref)
            view = self.views.alarm(session, alarm)
            session.delete(alarm)
        log.info("alarm %s removed", view["id"])
        self._changed(view["id"])
        return view

    def alarm_ids(self) -> list[int]:
        with self.sessions() as session:
            return list(session.scalars(select(Alarm.id)).all())

    def next_fire_at(self, alarm_id: int) -> datetime | None:
        with self.sessions() as session:
            alarm = session.get(Alarm, alarm_id)
            return alarm.next_fire_at if alarm else None

    # --- firing -------------------------------------------------------------------

    def claim_due(self, alarm_id: int, now: datetime) -> list[int]:
        """Claim the alarm's occurrences that are due by `now`; return those to dial.

        The newest due occurrence is dialled if it is within the alarm's grace window;
        every other due one is recorded as missed, never silently dropped. The alarm's
        next_fire_at moves past `now` in the same transaction.
        """
        # Claims run a few seconds ahead, so one may fall on the instant an earlier call is due.
        self.delivery.right_of_way.give_way()
        with self.sessions.begin() as session:
            alarm = session.get(Alarm, alarm_id)
            if alarm is None or alarm.next_fire_at is None or alarm.next_fire_at > now:
                return []
            schedule = schedule_of(alarm)
            due = rules.fire_times_between(
                schedule, alarm.next_fire_at - timedelta(microseconds=1), now, MAX_MISSED_RECORDED
            )
            to_dial: list[int] = []
            detail: str | None
            grace = timedelta(seconds=alarm.grace_seconds)
            for instant in due:
                latest = instant == due[-1]
                status, detail = "claimed", None
                skipped = alarm.skip_reason(instant)
                if skipped:
                    status, detail = "skipped", skipped
                elif not latest:
                    status, detail = "missed", "a later occurrence was due by the time alarmd ran"
                elif now - instant > grace:
                    late = _duration(now - instant)
                    status, detail = "missed", f"alarmd was not running; {late} late, past its grace"
                occurrence_id = self._claim(session, alarm, instant, status, detail, now)
                if occurrence_id is not None and status == "claimed":
                    to_dial.append(occurrence_id)
                elif occurrence_id is not None:
                    log.warning("alarm %s due %s: %s (%s)", alarm.id, iso(instant), status, detail)
            alarm.next_fire_at = rules.next_fire(schedule, max(now, due[-1] if due else now))
            alarm.updated_at = now
        return to_dial

    def _claim(self, session: Session, alarm: Alarm, instant: datetime, status: str,
               detail: str | None, now: datetime) -> int | None:
        """Insert the occurrence row; None when another run already claimed it."""
        key = f"alarm:{alarm.id}:{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        result = session.execute(
            sqlite_insert(Occurrence)
            .values(
                claim_key=key, alarm_id=alarm.id, alarm_name=alarm.name, reason="alarm",
                to_ref=alarm.to_ref, scheduled_at=instant, status=status, detail=detail,
                created_at=now, finished_at=None if status == "claimed" else now,
                owner=self.owner if status == "claimed" else None,
                lease_until=now + delivery.LEASE if status == "claimed" else None,
            )
            .on_conflict_do_nothing(index_elements=["claim_key"])
            .returning(Occurrence.id)
        )
        return result.scalar_one_or_none()

    def fire_occurrence(self, occurrence_id: int) -> None:
        """Deliver a claimed occurrence (alarmd.calls.delivery): dial, follow, redial, escalate.

        Blocks until it is answered, spent, or the daemon stops (then it stays resumable).
        No dialer error escapes: each is stored on its attempt.
        """
        with self._idle:
            self._in_flight += 1
        try:
            self.delivery.carry_on(occurrence_id)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def resumable_occurrences(self) -> list[int]:
        """Occurrences left claimed, dialling or accepted (a stop, a crash, another daemon)."""
        self.delivery.right_of_way.give_way()
        with self.sessions() as session:
            return list(session.scalars(
                select(Occurrence.id).where(Occurrence.status.in_(delivery.OPEN_STATUSES),
                                            Occurrence.finished_at.is_(None))
                .order_by(Occurrence.id)
            ).all())

    def request_stop(self) -> None:
        """Make deliveries stop waiting; what they leave is carried on after a restart."""
        self.stopping.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait for calls in flight to finish; False if some still run after `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    # --- edit, pause, resume, skip, upcoming, numbers, dial now --------------------

    def on_dispatch(self, dispatcher: Callable[[int], None]) -> None:
        """Have `dispatcher(occurrence_id)` dial a claimed occurrence off the caller's thread."""
        self._dispatch = dispatcher

    def edit_alarm(self, ref: int | str, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Change some of an alarm's fields (AlarmInput's names); the others stay as they are.

        A new at/daily/days/cron/tz reschedules it: next_fire_at is computed afresh, and
        pending skips (instants of the old schedule) are dropped.
        """
        with self.sessions.begin() as session:
            alarm = self._find(session, ref)
            given = AlarmInput(**_merged_input(alarm, changes))
            if "name" in changes:
                name = self._check_name(given.name)
                if name is not None and session.scalar(
                    select(Alarm.id).where(Alarm.name == name, Alarm.id != alarm.id)
                ):
                    raise Conflict(f"an alarm named {name!r} already exists.")
                alarm.name = name
            if "to" in changes:
                alarm.to_ref = _ref_text(given.to, self.phonebook.resolve(given.to))
            if "grace_seconds" in changes:
                grace = given.grace_seconds if given.grace_seconds is not None else self.settings.grace_seconds
                if not 0 <= grace <= 86_400:
                    raise BadInput(f"grace_seconds must be from 0 to 86400, not {grace}.")
                alarm.grace_seconds = grace
            delivery_fields = {"then", "ring_seconds", "say", "redial_attempts", "redial_interval_seconds"}
            if delivery_fields & changes.keys():
                # Only the fields given change; null puts one back to its default.
                checked = self._check_redial(AlarmInput(to=alarm.to_ref, **{
                    k: v for k, v in changes.items() if k in delivery_fields}))
                column = {"then": "then_ref"}
                for key in delivery_fields & changes.keys():
                    setattr(alarm, column.get(key, key), checked[column.get(key, key)])
            kind_fields = {"at", "daily", "days", "cron"}
            if kind_fields & changes.keys() or ("tz" in changes and alarm.kind != "once"):
                tz = given.tz or self.settings.timezone
                schedule = self._schedule(given, tz, now)
                alarm.next_fire_at = self._first_fire(schedule, now)
                _apply_schedule(alarm, schedule)
                alarm.skip_instants = "[]"
            elif "tz" in changes:
                # A one-off is an instant: another zone only changes how it is shown.
                alarm.tz = rules.zone(given.tz or self.settings.timezone).key
            alarm.updated_at = now
            view = self.views.alarm(session, alarm)
        log.info("alarm %s changed (%s): %s, next %s", view["id"], ", ".join(sorted(changes)) or "nothing",
                 view["schedule"], view["next_fire_at"])
        self._changed(view["id"])
        return view

    def pause_alarm(self, ref: int | str, until: str | None, now: datetime) -> dict[str, Any]:
        """Pause an alarm, for good or until a time; its occurrences meanwhile are recorded as skipped."""
        with self.sessions.begin() as session:
            alarm = self._find(session, ref)
            until_at = None
            if until is not None and until.strip():
                until_at = self._parse_when(until, alarm.tz, now)
                if until_at <= now:
                    raise BadInput(f"{until!r} is not in the future; pause until a later time.")
            alarm.paused, alarm.paused_until, alarm.updated_at = True, until_at, now
            view = self.views.alarm(session, alarm)
        log.info("alarm %s paused%s", view["id"], f" until {iso(until_at)}" if until_at else "")
        self._changed(view["id"])
        return view

    def resume_alarm(self, ref: int | str, now: datetime) -> dict[str, Any]:
        with self.sessions.begin() as session:
            alarm = self._find(session, ref)
            alarm.paused, alarm.paused_until, alarm.updated_at = False, None, now
            view = self.views.alarm(session, alarm)
        log.info("alarm %s resumed", view["id"])
        self._changed(view["id"])
        return view

    def skip_alarm(self, ref: int | str, on: str | None, now: datetime) -> dict[str, Any]:
        """Skip the next occurrence not already skipped, or every occurrence on a local date."""
        with self.sessions.begin() as session:
            alarm = self._find(session, ref)
            if alarm.next_fire_at is None:
                raise BadInput(f"alarm {alarm.id} has no occurrence left to skip.")
            schedule = schedule_of(alarm)
            pending = [s for s in json.loads(alarm.skip_instants or "[]")
                       if datetime.fromisoformat(s) >= alarm.next_fire_at]
            after = alarm.next_fire_at - timedelta(microseconds=1)
            if on is None:
                found = firetimes.next_unskipped(schedule, after, set(pending))
                instants = [found] if found else []
                if not instants:
                    raise BadInput(f"alarm {alarm.id} has no occurrence left to skip.")
            else:
                day = _parse_date(on)
                instants = firetimes.instants_on(schedule, day, after)
                if not instants:
                    raise BadInput(f"alarm {alarm.id} has no occurrence left on {day.isoformat()} to skip.")
            alarm.skip_instants = json.dumps(sorted(set(pending) | {i.isoformat() for i in instants}))
            alarm.updated_at = now
            view = self.views.alarm(session, alarm)
        log.info("alarm %s will skip %s", view["id"], ", ".join(i.isoformat() for i in instants))
        self._changed(view["id"])
        return view

    def upcoming(self, ref: int | str, count: int) -> dict[str, Any]:
        """The alarm's next `count` rings, with their local times and what DST did to them."""
        with self.sessions() as session:
            alarm = self._find(session, ref)
            return {"alarm": alarm.id, "fire_times": [t.as_json() for t in _upcoming(alarm, count)]}

    def upcoming_all(self, count: int) -> list[dict[str, Any]]:
        """The next `count` rings of all alarms together, soonest first."""
        found: list[tuple[datetime, int, dict[str, Any]]] = []
        with self.sessions() as session:
            query = select(Alarm).where(Alarm.next_fire_at.is_not(None)).order_by(Alarm.next_fire_at, Alarm.id)
            for alarm in session.scalars(query):
                assert alarm.next_fire_at is not None
                # Alarms come soonest first, and none rings before its next_fire_at.
                if len(found) >= count and found[count - 1][0] < alarm.next_fire_at:
                    break
                for t in _upcoming(alarm, count):
                    found.append((t.at, alarm.id, {"alarm_id": alarm.id, "alarm_name": alarm.name}
                                  | t.as_json()))
                found = sorted(found, key=lambda item: (item[0], item[1]))[:count]
        return [item[2] for item in found]

    def numbers(self) -> list[dict[str, Any]]:
        """The configured numbers people may see: hidden ones left out, secret ones masked."""
        return [{"index": e.index, "name": e.name, "number": e.display}
                for e in self.phonebook.entries if not e.hidden]

    def dial_now(self, to: int | str, now: datetime) -> dict[str, Any]:
        """Claim a call to a configured number now and hand it to the dispatcher (NMO's /twilio/x)."""
        entry = self.phonebook.resolve(to)
        with self.sessions.begin() as session:
            try:
                costguard.check(session, now, self.settings.calls_per_hour)
            except LimitExceeded as exc:
                log.warning("dial %s refused: %s", entry.label(), exc)
                raise
            occurrence = Occurrence(
                claim_key=new_dial_key(), alarm_id=None, alarm_name=None, reason="dial",
                to_ref=_ref_text(to, entry), scheduled_at=now, status="claimed", detail=None,
                created_at=now, finished_at=None, attempts=[],
            )
            session.add(occurrence)
            session.flush()
            view = self.views.occurrence(occurrence)
        log.info("dial %s: occurrence %s claimed", entry.label(), view["id"])
        if self._dispatch is not None:
            self._dispatch(view["id"])
        else:
            threading.Thread(target=self.fire_occurrence, args=(view["id"],), daemon=True).start()
        return view

    def _parse_when(self, text: str, tz: str, now: datetime) -> datetime:
        """Every time text a person or NMO sends ("at", "until", "before") is read here."""
        return timeparse.parse_when(text, tz, now)

    def _check_room(self, session: Session) -> None:
        if (session.scalar(select(func.count(Alarm.id))) or 0) >= MAX_ALARMS:
            raise Conflict(f"alarmd keeps at most {MAX_ALARMS:,} alarms; remove some before adding more.")

    def _before(self, session: Session, before: str) -> Any:
        """History paging: older than an occurrence (by id) or than an instant."""
        text = before.strip()
        if text.isdigit():
            row = session.get(Occurrence, int(text))
            if row is None:
                raise BadInput(f"before: no call has the id {text}.")
            return or_(Occurrence.scheduled_at < row.scheduled_at,
                       and_(Occurrence.scheduled_at == row.scheduled_at, Occurrence.id < row.id))
        return Occurrence.scheduled_at < self._parse_when(text, self.settings.timezone, clock.now())

    # --- history and status -------------------------------------------------------

    def history(self, limit: int = 50, alarm_ref: int | str | None = None,
                before: str | None = None) -> list[dict[str, Any]]:
        with self.sessions() as session:
            query = select(Occurrence).order_by(Occurrence.scheduled_at.desc(), Occurrence.id.desc())
            if alarm_ref is not None:
                query = query.where(Occurrence.alarm_id == self._find(session, alarm_ref).id)
            if before is not None:
                query = query.where(self._before(session, before))
            rows = session.scalars(query.limit(limit)).all()
            return [self.views.occurrence(row) for row in rows]

    def status(self) -> dict[str, Any]:
        with self.sessions() as session:
            count = session.scalar(select(func.count(Alarm.id))) or 0
            upcoming = session.scalars(
                select(Alarm).where(Alarm.next_fire_at.is_not(None)).order_by(Alarm.next_fire_at).limit(1)
            ).first()
            # A call still being followed (accepted, or dialling its redials) counts too.
            last = session.scalars(
                select(Occurrence).where(or_(Occurrence.finished_at.is_not(None),
                                             Occurrence.status.in_(("dialling", "accepted"))))
                .order_by(func.coalesce(Occurrence.finished_at, Occurrence.created_at).desc()).limit(1)
            ).first()
            return {
                "version": __version__,
                "mode": self.dialer.mode,
                "dry_run_reason": self.settings.twilio.dry_run_reason,
                "timezone": self.settings.timezone,
                "alarms": count,
                "next_alarm": self.views.alarm(session, upcoming) if upcoming else None,
                "last_call": self.views.occurrence(last) if last else None,
                "keepalive": self.keepalive_status(clock.now()),
            }

    # --- keepalive (the pure math is in alarmd.schedule.keepalive) -------------------

    def record_first_start(self, now: datetime) -> datetime:
        """Remember the daemon's first start (the keepalive's clock before any call); return it."""
        with self.sessions.begin() as session:
            session.execute(sqlite_insert(StateEntry).values(key=FIRST_START, value=now.isoformat())
                            .on_conflict_do_nothing(index_elements=["key"]))
            return _instant(session.get_one(StateEntry, FIRST_START).value)

    def keepalive_plan(self) -> keepalive.Plan | None:
        """The keepalive settings, or None when it is off (disabled, or no number to call)."""
        conf = self.settings.keepalive
        if not conf.enabled or not self.phonebook.entries:
            return None
        return keepalive.Plan(conf.every_days, rules.parse_time_of_day(conf.at),
                              rules.zone(self.settings.timezone))

    def keepalive_history(self, now: datetime) -> keepalive.History:
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

    def keepalive_wake_at(self, now: datetime) -> datetime | None:
        """When the keepalive job should next run: the next call or the next warning log line."""
        plan = self.keepalive_plan()
        if plan is None:
            return None
        history = self.keepalive_history(now)
        logged = self._state_instant(WARNING_LOGGED)
        return min(keepalive.next_due(history, plan), keepalive.next_warning_log(history, plan, logged))

    def claim_keepalive(self, now: datetime) -> int | None:
        """Claim the keepalive call if it is due by `now`; the occurrence to dial, or None.

        The claim key is the instant it fell due, so a restart or a second daemon that
        computes the same instant from the same rows claims nothing.
        """
        plan = self.keepalive_plan()
        if plan is None:
            return None
        due = keepalive.next_due(self.keepalive_history(now), plan)
        if due > now:
            return None
        with self.sessions.begin() as session:
            occurrence_id = session.execute(
                sqlite_insert(Occurrence)
                # scheduled_at is now, not `due`: a keepalive late after downtime is still
                # wanted, and nothing judging lateness by scheduled_at may call it missed.
                .values(claim_key=f"keepalive:{due.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}", reason="keepalive",
                        to_ref=str(self.settings.keepalive.number), scheduled_at=now, status="claimed",
                        created_at=now)
                .on_conflict_do_nothing(index_elements=["claim_key"])
                .returning(Occurrence.id)
            ).scalar_one_or_none()
        if occurrence_id is not None:
            log.info("keepalive call due %s claimed", iso(due.astimezone(plan.zone)))
        return occurrence_id

    def keepalive_warning(self, now: datetime) -> str | None:
        plan = self.keepalive_plan()
        return keepalive.warning(self.keepalive_history(now), plan, now) if plan else None

    def log_keepalive_warning(self, now: datetime) -> None:
        """Log the at-risk warning, at most once a day (remembered across restarts)."""
        plan = self.keepalive_plan()
        if plan is None:
            return
        history = self.keepalive_history(now)
        text = keepalive.warning(history, plan, now)
        logged = self._state_instant(WARNING_LOGGED)
        if text is None or keepalive.next_warning_log(history, plan, logged) > now:
            return
        why = ("alarmd is in dry-run mode, so no call reaches Twilio" if self.dialer.mode == "dry-run"
               else "the keepalive call is retried until Twilio accepts one")
        log.warning("%s; %s", text, why)
        with self.sessions.begin() as session:
            session.merge(StateEntry(key=WARNING_LOGGED, value=now.isoformat()))

    def keepalive_status(self, now: datetime) -> dict[str, Any]:
        """`keepalive` in status: {enabled, last_accepted_call, next_due, warning}, local ISO."""
        plan = self.keepalive_plan()
        history = self.keepalive_history(now)
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

    # --- helpers ------------------------------------------------------------------

    def _find(self, session: Session, ref: int | str) -> Alarm:
        text = str(ref).strip()
        alarm = None
        if text.isdigit():
            alarm = session.get(Alarm, int(text))
        else:
            alarm = session.scalars(select(Alarm).where(Alarm.name == text)).first()
            if alarm is None:
                alarm = self._find_ignoring_case(session, text)
        if alarm is None:
            raise NoSuchAlarm(f"no alarm has the id or name {text!r}.")
        return alarm

    @staticmethod
    def _find_ignoring_case(session: Session, text: str) -> Alarm | None:
        """People type "Work" for "work"; when that fits several alarms, say so, never guess."""
        found = session.scalars(select(Alarm).where(func.lower(Alarm.name) == text.lower())
                                .order_by(Alarm.id)).all()
        if len(found) > 1:
            names = ", ".join(f"{a.name!r} (#{a.id})" for a in found)
            raise BadInput(f"the name {text!r} is ambiguous: it fits {names}; use the id or the exact name.")
        return found[0] if found else None

    @staticmethod
    def _check_name(name: str | None) -> str | None:
        if name is None or not name.strip():
            return None
        name = name.strip()
        if len(name) > MAX_NAME_LENGTH:
            raise BadInput(f"an alarm name can be at most {MAX_NAME_LENGTH} characters.")
        if name.isdigit():
            raise BadInput(f"the name {name!r} would be read as an id; use a word.")
        return name

    def _check_redial(self, given: AlarmInput) -> dict[str, Any]:
        """The alarm's delivery columns, checked (fallback, ring time, message, redials)."""
        columns: dict[str, Any] = {"then_ref": None, "ring_seconds": given.ring_seconds,
                                   "say": None, "redial_attempts": given.redial_attempts,
                                   "redial_interval_seconds": given.redial_interval_seconds}
        if given.then is not None:
            columns["then_ref"] = _ref_text(given.then, self.phonebook.resolve(given.then))
        if given.say is not None:
            columns["say"] = callplan.check_say(given.say)
        for key, low, high in (("ring_seconds", 5, 600), ("redial_attempts", 1, 10),
                               ("redial_interval_seconds", 1, 3600)):
            value = columns[key]
            if value is not None and not low <= value <= high:
                raise BadInput(f"{key} must be from {low} to {high}, not {value}.")
        return columns

    def _schedule(self, given: AlarmInput, tz: str, now: datetime) -> Schedule:
        kinds = [k for k in ("at", "daily", "cron") if getattr(given, k)]
        if len(kinds) != 1:
            raise BadInput("give exactly one of at, daily or cron.")
        rules.zone(tz)
        if given.days and not given.daily:
            raise BadInput("days goes with daily.")
        if given.at:
            return Schedule("once", tz, at=self._parse_when(given.at, tz, now))
        if given.daily:
            return Schedule("daily", tz, time_of_day=rules.parse_time_of_day(given.daily),
                            days=rules.parse_days(given.days))
        assert given.cron is not None
        rules.parse_cron(given.cron)
        return Schedule("cron", tz, cron=" ".join(given.cron.split()))

    @staticmethod
    def _first_fire(schedule: Schedule, now: datetime) -> datetime:
        if schedule.kind == "once":
            assert schedule.at is not None
            if schedule.at < now - PAST_TOLERANCE:
                raise BadInput(f"{iso(schedule.at)} is in the past.")
            if schedule.at > now + MAX_AHEAD:
                raise BadInput(f"{iso(schedule.at)} is more than 366 days ahead.")
            return max(schedule.at, now)
        first = rules.next_fire(schedule, now)
        if first is None:
            raise BadInput(f"the schedule {schedule.describe()!r} never fires.")
        return first



def _instant(text: str) -> datetime:
    """A stored ISO instant; one without an offset (written by hand) is UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def new_dial_key() -> str:
    return f"dial:{uuid.uuid4().hex}"


def _ref_text(ref: int | str, entry: PhoneNumber) -> str:
    # Keep the name when one was given: it survives reordering of phoneNumbers.
    by_name = isinstance(ref, str) and not ref.strip().isdigit() and entry.name
    return entry.name if by_name and entry.name else str(entry.index)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}min"
    return f"{hours // 24} days"


# --- edit, skip, upcoming ------------------------------------------------------------


def _stored_input(alarm: Alarm) -> dict[str, Any]:
    """The alarm as AlarmInput fields, the shape an edit is merged into."""
    schedule = schedule_of(alarm)
    return {
        "to": alarm.to_ref, "at": iso(alarm.at), "daily": alarm.time_of_day,
        "days": ",".join(rules.DAY_NAMES[d] for d in sorted(schedule.days)) if alarm.kind == "daily" else None,
        "cron": alarm.cron, "tz": alarm.tz, "name": alarm.name, "grace_seconds": alarm.grace_seconds,
    }


def _merged_input(alarm: Alarm, changes: dict[str, Any]) -> dict[str, Any]:
    merged = _stored_input(alarm)
    if {"at", "daily", "cron"} & changes.keys():
        # A new kind of schedule replaces the old one; a new daily time keeps the days.
        keep_days = alarm.kind == "daily" and "daily" in changes
        merged.update(at=None, daily=None, cron=None, days=merged["days"] if keep_days else None)
    merged.update(changes)
    return merged


def _apply_schedule(alarm: Alarm, schedule: Schedule) -> None:
    alarm.kind, alarm.tz, alarm.at, alarm.cron = schedule.kind, schedule.tz, schedule.at, schedule.cron
    alarm.time_of_day = f"{schedule.time_of_day:%H:%M}" if schedule.time_of_day else None
    alarm.days = ",".join(str(d) for d in sorted(schedule.days)) if schedule.kind == "daily" else None


def _upcoming(alarm: Alarm, count: int) -> list[firetimes.FireTime]:
    if alarm.next_fire_at is None:
        return []
    return firetimes.upcoming(
        schedule_of(alarm), alarm.next_fire_at - timedelta(microseconds=1), count,
        skipping=set(json.loads(alarm.skip_instants or "[]")), paused=alarm.paused,
        paused_until=alarm.paused_until,
    )


def _parse_date(text: str) -> date:
    # Only YYYY-MM-DD: fromisoformat alone would also take "20261224".
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text.strip())
    raise BadInput(f"{text!r} is not a date like \"2026-12-24\".")
