"""Pure decisions for delivering one occurrence: whom to ring, how, and what comes next.

`next_step` reads only what the attempts table records about the occurrence, never
anything kept in memory, so a daemon that restarts (or a second daemon that takes
over) makes the same decision the first one would have made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from alarmd.calls import pacing
from alarmd.calls.dialers.base import CallRequest
from alarmd.config.settings import Settings
from alarmd.defaults import DEFAULT_RING_SECONDS
from alarmd.errors import BadInput, UnknownNumber
from alarmd.phonebook import Phonebook, PhoneNumber
from alarmd.store.models import Alarm, Attempt, Occurrence

TWIML_LIMIT = 4000  # Twilio's limit on the Twiml parameter, in characters
# How long before its instant an occurrence is claimed and its request prepared, so that
# at the instant only the request itself is left to do (the scheduler claims this early).
LEAD = timedelta(seconds=3)
# Statuses of a followed call that mean someone (or something) picked up.
ANSWERED = frozenset({"completed", "in-progress"})
# What Twilio's answering machine detection reports for a pick-up that is not a person.
MACHINES = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"})
KEEPALIVE_SENTENCE = ("This is the alarmd keepalive call, which keeps your Twilio trial number in use; "
                      "there is nothing you need to do.")


@dataclass(frozen=True)
class Plan:
    numbers: tuple[PhoneNumber, ...]  # the alarm's number, then its fallback (escalation)
    calls_per_number: int
    interval: timedelta  # between unanswered calls to the same number
    grace: timedelta  # how late a call may still go out
    ring_seconds: int
    twiml: str | None  # spoken instead of url when given
    url: str
    # A keepalive is done once Twilio accepts it, and has its own retry schedule
    # (alarmd.schedule.keepalive): it is neither followed nor retried here.
    follow: bool = True
    retry: bool = True
    # Ring with answering machine detection, and count a machine as not answered; "unknown"
    # (detection could not tell) is an answer unless unknown_is_answer is false.
    require_human: bool = False
    unknown_is_answer: bool = True


@dataclass(frozen=True)
class Dial:
    entry: PhoneNumber
    at: datetime  # not before (a redial interval or a retry backoff)
    due: datetime  # when this call was meant to go out; grace counts from here


@dataclass(frozen=True)
class Settle:
    """The last request's answer was lost: find out from Twilio whether it placed a call."""

    attempt: Attempt


@dataclass(frozen=True)
class Follow:
    attempt: Attempt


@dataclass(frozen=True)
class Done:
    status: str  # answered | unanswered | failed | missed | dry-run
    detail: str | None


Step = Dial | Settle | Follow | Done


def _escape(text: str) -> str:
    """XML text escaped as xml.sax.saxutils.escape does it (& < >), without importing xml."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def say_twiml(text: str) -> str:
    return f"<Response><Say>{_escape(text.strip())}</Say></Response>"


def keepalive_twiml() -> str:
    """The keepalive call's inline TwiML: one sentence, then hang up."""
    return f"<Response><Say>{_escape(KEEPALIVE_SENTENCE)}</Say><Hangup/></Response>"


def check_say(text: str) -> str:
    """The message as stored; BadInput when Twilio could not take it."""
    text = text.strip()
    if not text:
        raise BadInput("say must not be empty.")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise BadInput("say must not contain control characters.")
    length = len(say_twiml(text))
    if length > TWIML_LIMIT:
        raise BadInput(f"say is too long: as TwiML it is {length:,} characters, Twilio takes at most "
                       f"{TWIML_LIMIT:,}.")
    return text


def plan_for(occurrence: Occurrence, alarm: Alarm | None, settings: Settings,
             phonebook: Phonebook) -> Plan:
    """How this occurrence is delivered: to whom it was pinned when claimed, whatever the
    alarm was changed to since. Raises UnknownNumber (the sentence a person reads) when
    that person is no longer configured: nobody else is called instead."""
    numbers = [phonebook.target(occurrence.to_ref, occurrence.to_name, occurrence.to_number)]
    if occurrence.reason == "alarm" and alarm is not None:
        if alarm.then_ref is not None:
            try:
                fallback = phonebook.target(alarm.then_ref, alarm.then_name, alarm.then_number)
            except UnknownNumber:
                # Flagged when the config was read (alarmd.alarms.pins); the alarm's own
                # number still rings.
                fallback = numbers[0]
            if fallback.number != numbers[0].number:
                numbers.append(fallback)
        return Plan(
            numbers=tuple(numbers),
            calls_per_number=alarm.redial_attempts or settings.redial.attempts,
            interval=timedelta(seconds=alarm.redial_interval_seconds or settings.redial.interval_seconds),
            grace=timedelta(seconds=alarm.grace_seconds),
            ring_seconds=alarm.ring_seconds or DEFAULT_RING_SECONDS,
            twiml=say_twiml(alarm.say) if alarm.say else None,
            url=settings.twilio.calling_uri,
            require_human=settings.redial.require_human if alarm.require_human is None else alarm.require_human,
            unknown_is_answer=settings.redial.unknown_is_answer,
        )
    # A manual dial or a keepalive is one call: NMO's /twilio/x action rings once, and the
    # keepalive only needs Twilio to accept a call.
    is_keepalive = occurrence.reason == "keepalive"
    return Plan(
        numbers=tuple(numbers),
        calls_per_number=1,
        interval=timedelta(seconds=settings.redial.interval_seconds),
        # A late keepalive is still useful: no grace limit (alarmd.schedule.keepalive).
        grace=timedelta(days=3650) if is_keepalive else timedelta(seconds=settings.grace_seconds),
        ring_seconds=settings.keepalive.ring_seconds if is_keepalive else DEFAULT_RING_SECONDS,
        twiml=keepalive_twiml() if is_keepalive else None,
        url=settings.twilio.calling_uri,
        follow=not is_keepalive,
        retry=not is_keepalive,
    )


def call_request(plan: Plan, entry: PhoneNumber) -> CallRequest:
    """The one place a Twilio request is built for an occurrence, whatever its reason."""
    if plan.twiml:
        return CallRequest(to=entry.number, twiml=plan.twiml, ring_seconds=plan.ring_seconds,
                           detect_machine=plan.require_human)
    return CallRequest(to=entry.number, url=plan.url, ring_seconds=plan.ring_seconds,
                       detect_machine=plan.require_human)


def not_a_person(plan: Plan, answered_by: str | None) -> bool:
    """Whether a picked-up call was answered by something that cannot wake up.

    Without detection every pick-up is an answer. With it, a machine or a fax is not;
    "unknown", or no verdict at all, is one unless alarmd.redial.unknownIsAnswer is false.
    """
    if not plan.require_human:
        return False
    if answered_by in MACHINES:
        return True
    return answered_by in (None, "", "unknown") and not plan.unknown_is_answer


def answered(plan: Plan, attempt: Attempt) -> bool:
    return attempt.sid is not None and attempt.status in ANSWERED and not not_a_person(plan, attempt.answered_by)


def outcome_word(plan: Plan, attempt: Attempt) -> str:
    """How a placed call ended, in words: "voicemail" for a machine, else Twilio's status."""
    if attempt.status in ANSWERED and not_a_person(plan, attempt.answered_by):
        if attempt.answered_by == "fax":
            return "fax"
        return "voicemail" if attempt.answered_by in MACHINES else "unknown answerer"
    return attempt.status


def retry_delay(failures: int, first: float, cap: float) -> timedelta:
    """Backoff after `failures` transient failures in a row: first, doubling, capped."""
    return timedelta(seconds=min(first * 2 ** (failures - 1), cap))


def next_step(plan: Plan, attempts: list[Attempt], scheduled_at: datetime, now: datetime,
              first_retry: float, max_retry: float, resumed: bool = False,
              asked_waits: Mapping[int, float] | None = None) -> Step:
    """What to do next. `resumed`: carried on from another run (a restart, a second daemon),
    whose first call is judged against the grace window, as claim_due judges fresh ones.
    `asked_waits`: the Retry-After Twilio gave rate-limited attempts, by id (alarmd.calls.pacing)."""
    # A request known never to have gone out (a stop just before it) neither rang nor failed.
    attempts = [a for a in attempts if a.status != "not-sent"]
    if not attempts:
        if resumed and now - scheduled_at > plan.grace:
            return Done("missed", "alarmd was not running when it was due, and it is past its grace")
        # Claimed within the lead: wait for the instant. Claimed earlier than that on
        # purpose (a manual claim): ring now.
        return Dial(plan.numbers[0], scheduled_at if scheduled_at - now <= LEAD else now, scheduled_at)
    last = attempts[-1]
    if last.sid is None and last.status in ("requesting", "uncertain"):
        return Settle(last)
    if last.sid is not None and last.finished_at is None:
        return Follow(last) if plan.follow else Done("accepted", None)
    if last.status == "dry-run":
        return Done("dry-run", "dry-run: nobody was called")
    if answered(plan, last):
        return Done("answered", _answer_detail(plan, last))
    target = _target(plan, attempts)
    if target is None:
        return _exhausted(plan, attempts)
    streak = _transient_streak(attempts)
    if streak and not plan.retry:
        return _exhausted(plan, attempts)
    before = attempts[-1 - len(streak)] if len(streak) < len(attempts) else None
    if before is None:
        due = scheduled_at
    else:
        assert before.finished_at is not None
        same = before.number == target.number and before.sid is not None
        due = before.finished_at + plan.interval if same else before.finished_at
    at = due
    if streak:
        assert streak[-1].finished_at is not None
        at = streak[-1].finished_at + pacing.retry_wait(
            streak[-1], retry_delay(len(streak), first_retry, max_retry), asked_waits or {})
    if max(at, now) - due > plan.grace:
        summary = _exhausted(plan, attempts)
        return Done(summary.status, f"gave up {_late(max(at, now) - due)} after the call was due, "
                                    f"past its grace; {summary.detail}")
    return Dial(target, at, due)


def _target(plan: Plan, attempts: list[Attempt]) -> PhoneNumber | None:
    """The first number not yet spent: neither refused for good nor rung enough times."""
    for entry in plan.numbers:
        mine = [a for a in attempts if a.number == entry.number]
        if any(a.permanent for a in mine):
            continue
        if sum(1 for a in mine if a.sid is not None) >= plan.calls_per_number:
            continue
        return entry
    return None


def _transient_streak(attempts: list[Attempt]) -> list[Attempt]:
    streak: list[Attempt] = []
    for attempt in reversed(attempts):
        if attempt.sid is not None or attempt.permanent:
            break
        streak.insert(0, attempt)
    return streak


def _answer_detail(plan: Plan, attempt: Attempt) -> str | None:
    if not plan.require_human:
        return None
    return "a person answered" if attempt.answered_by == "human" else (
        "answered; detection could not tell whether by a person")


def called_off(plan: Plan | None, attempts: list[Attempt], reason: str) -> Done:
    """The outcome of an occurrence whose alarm no longer wants its next call (paused,
    skipped, removed): skipped if nothing rang yet, else what the calls placed came to."""
    if not any(a.sid is not None for a in attempts):
        return Done("skipped", reason)
    summary = _exhausted(plan, attempts)
    why = {"paused": "the alarm was paused", "skipped by request": "this ring was skipped"}.get(reason, reason)
    return Done(summary.status, f"{summary.detail}; no more calls: {why}")


def _exhausted(plan: Plan | None, attempts: list[Attempt]) -> Done:
    placed = [a for a in attempts if a.sid is not None]
    last_error = next((a.error_message for a in reversed(attempts) if a.error_message), None)
    if placed:
        outcomes = ", ".join(outcome_word(plan, a) if plan else a.status for a in placed)
        noun = "call" if len(placed) == 1 else "calls"
        return Done("unanswered", f"nobody answered {len(placed)} {noun} ({outcomes})")
    return Done("failed", last_error or "no call could be placed")


def _late(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
