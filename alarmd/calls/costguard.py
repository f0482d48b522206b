"""The cost guard: at most alarmd.limits.callsPerHour calls in any hour, manual dials at most dialsPerHour of them.

It protects against a runaway NMO rule or a leaked token ringing up a bill, and keeps
room for wake-ups: manual dials (NMO's /twilio/x, `alarmd dial`) have their own cap
inside the total, so they can never use up the hour before 07:00.

What counts is what may cost: attempts that may have placed a call (a SID came back,
the answer was lost after sending, or the request is in flight; Attempt.may_have_placed)
and the first attempts of manual dials already answered 202 (Occurrence.reserved_at). A
request that certainly placed nothing (connection refused, a name that did not
resolve, Twilio refusing it) does not count, so an outage does not use up the hour.
The counts come from the tables, so they hold across restarts and across daemons
sharing the database.

Every function here takes the write lock first, in the caller's transaction, by
updating the `costguard` row of `state` (inserted if missing): two requests at the same
moment then cannot both see room for one more, here or in another process. Call them in
the transaction that then writes the attempt or the dial's occurrence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, union_all, update
from sqlalchemy.orm import Session

from alarmd.errors import LimitExceeded
from alarmd.store.insert import insert_new
from alarmd.store.models import Attempt, Occurrence, StateEntry

WINDOW = timedelta(hours=1)
LOCK_KEY = "costguard"


class CallLimitReached(LimitExceeded):
    """LimitExceeded, with when the next counted call leaves the window (HTTP Retry-After)."""

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Usage:
    """What the guard counts in the hour up to now."""

    placed: int  # Twilio answered with a SID (or the dry-run dialer recorded one)
    uncertain: int  # the answer was lost after sending: a call may have been placed
    pending: int  # about to be placed: a manual dial answered 202, or a request in flight

    @property
    def total(self) -> int:
        return self.placed + self.uncertain + self.pending

    def sentence(self) -> str:
        """"2 were placed, 1 may have been (its answer was lost) and 1 is about to be"."""
        parts = [f"{self.placed or 'none'} {'was' if self.placed == 1 else 'were'} placed"]
        if self.uncertain:
            parts.append(f"{self.uncertain} may have been (the answer was lost)")
        if self.pending:
            parts.append(f"{self.pending} {'is' if self.pending == 1 else 'are'} about to be")
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def take_lock(session: Session, now: datetime) -> None:
    """Take the database's write lock for this transaction (SQLite: the file's; PostgreSQL: the row's)."""
    insert_new(session, StateEntry, {"key": LOCK_KEY, "value": ""}, "key")
    session.execute(update(StateEntry).where(StateEntry.key == LOCK_KEY).values(value=now.isoformat()))


def usage(session: Session, now: datetime, *, dials_only: bool = False,
          except_occurrence: int | None = None) -> Usage:
    """The counted calls of the last hour (of manual dials only); a reservation of
    `except_occurrence` is left out, because the attempt being written takes its place."""
    kind = case((Attempt.sid.is_not(None) | (Attempt.status == "dry-run"), "placed"),
                (Attempt.status == "requesting", "pending"), else_="uncertain")
    query = select(kind, func.count(Attempt.id)).where(*_attempts_counted(now, dials_only)).group_by(kind)
    counts: dict[str, int] = {str(k): int(n) for k, n in session.execute(query).all()}
    reserved = session.scalar(select(func.count(Occurrence.id)).where(
        *_reservations_counted(now, except_occurrence))) or 0
    return Usage(counts.get("placed", 0), counts.get("uncertain", 0), counts.get("pending", 0) + reserved)


def check(session: Session, now: datetime, limit: int, occurrence_id: int | None = None,
          dials_per_hour: int | None = None) -> None:
    """Before every attempt (redials included): raise CallLimitReached when `limit` calls already count.

    A manual dial's first attempt was reserved when it was answered 202: its reservation
    is not counted against it (the caller consumes it in the same transaction), so it
    always fits. A dial's retry after a failure that cost nothing must also fit under
    `dials_per_hour`, or manual dials could eat into the wake-ups' room.
    """
    take_lock(session, now)
    used = usage(session, now, except_occurrence=occurrence_id)
    if used.total >= limit:
        raise CallLimitReached(
            f"the cost guard allows {_calls(limit)} per hour (alarmd.limits.callsPerHour) and in the last hour "
            f"{used.sentence()}; try again later.",
            _retry_after(session, now, used.total - limit, dials_only=False, except_occurrence=occurrence_id))
    if dials_per_hour is None or occurrence_id is None or session.scalar(
            select(Occurrence.reason).where(Occurrence.id == occurrence_id)) != "dial":
        return
    dials = usage(session, now, dials_only=True, except_occurrence=occurrence_id)
    if dials.total >= dials_per_hour:
        raise CallLimitReached(_dial_cap_sentence(dials_per_hour, dials), _retry_after(
            session, now, dials.total - dials_per_hour, dials_only=True, except_occurrence=occurrence_id))


def reserve_dial(session: Session, now: datetime, calls_per_hour: int, dials_per_hour: int) -> None:
    """Admit a manual dial, or raise CallLimitReached; the caller stores its occurrence with reserved_at=now.

    The dial must fit under its own cap and under the total, so that answering 202
    means its first attempt will be placed.
    """
    take_lock(session, now)
    dials = usage(session, now, dials_only=True)
    if dials.total >= dials_per_hour:
        if dials_per_hour == 0:
            raise CallLimitReached("manual dials are off (alarmd.limits.dialsPerHour is 0), keeping "
                                   "alarmd.limits.callsPerHour for wake-ups.", int(WINDOW.total_seconds()))
        raise CallLimitReached(_dial_cap_sentence(dials_per_hour, dials), _retry_after(
            session, now, dials.total - dials_per_hour, dials_only=True, except_occurrence=None))
    used = usage(session, now)
    if used.total >= calls_per_hour:
        raise CallLimitReached(
            f"the cost guard allows {_calls(calls_per_hour)} per hour (alarmd.limits.callsPerHour) and in the "
            f"last hour {used.sentence()}; try again later.",
            _retry_after(session, now, used.total - calls_per_hour, dials_only=False, except_occurrence=None))


def _dial_cap_sentence(dials_per_hour: int, dials: Usage) -> str:
    return (f"the cost guard allows {_calls(dials_per_hour, 'manual dial')} per hour (alarmd.limits.dialsPerHour), "
            f"keeping the rest of alarmd.limits.callsPerHour for wake-ups, and in the last hour "
            f"{dials.sentence()}; try again later.")


def _calls(count: int, noun: str = "call") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _attempts_counted(now: datetime, dials_only: bool) -> list[Any]:
    where: list[Any] = [Attempt.started_at > now - WINDOW, Attempt.may_have_placed.is_(True)]
    if dials_only:
        where.append(Attempt.occurrence_id.in_(select(Occurrence.id).where(Occurrence.reason == "dial")))
    return where


def _reservations_counted(now: datetime, except_occurrence: int | None) -> list[Any]:
    where: list[Any] = [Occurrence.reserved_at > now - WINDOW]
    if except_occurrence is not None:
        where.append(Occurrence.id != except_occurrence)
    return where


def _retry_after(session: Session, now: datetime, over: int, *, dials_only: bool,
                 except_occurrence: int | None) -> int:
    """Seconds until one more call fits: until the (over+1)-th oldest counted call leaves the hour."""
    attempts = select(Attempt.started_at.label("at")).where(*_attempts_counted(now, dials_only))
    reservations = select(Occurrence.reserved_at.label("at")).where(*_reservations_counted(now, except_occurrence))
    counted = union_all(attempts, reservations).subquery()
    oldest = session.scalar(select(counted.c.at).order_by(counted.c.at).offset(max(over, 0)).limit(1))
    if oldest is None:
        return int(WINDOW.total_seconds())
    if isinstance(oldest, str):  # a UNION's column comes back untyped from SQLite
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    # An attempt prepared a moment ahead starts a little after `now`: still at most the window.
    return min(int(WINDOW.total_seconds()), max(1, math.ceil((oldest + WINDOW - now).total_seconds())))
