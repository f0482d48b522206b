"""Following a placed call until its outcome is known: poll, hang up on a machine, cancel at a deadline.

What comes of it is written on the attempt (status, duration, who answered); what to do
next is alarmd.calls.callplan's to decide from that record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from alarmd import clock
from alarmd.calls import callplan, pacing
from alarmd.calls.callplan import Plan
from alarmd.calls.lease import Lease
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.calls.record import Record
from alarmd.errors import DialError
from alarmd.phonebook import mask
from alarmd.store.models import Attempt

log = logging.getLogger("alarmd.delivery")

# A Retry-After on a status read is honoured up to this: each pause renews the 30 s lease.
MAX_POLL_WAIT_SECONDS = 10.0
# A cancel or hang-up refused with 20429 is asked this many times in all, at least this far apart.
RATE_LIMITED_TRIES = 3
MIN_RATE_LIMITED_WAIT_SECONDS = 0.5


class Follower(UsesLive):
    """Its dialer, numbers and redial settings are the configuration in force (pinned per delivery)."""

    def __init__(self, live: LiveConfig, record: Record, lease: Lease):
        self.live = live
        self.record = record
        self.lease = lease

    def follow(self, occurrence_id: int, plan: Plan, attempt: Attempt) -> None:
        """Poll the call until its status is final, a machine answered, or it overstayed.

        Twilio places an account's calls at its calls-per-second rate (1 by default) and
        queues the rest: in a hotel's burst of 100 the last one rings some 100 s after its
        request. So a call's ring time (+ margin) counts from when it leaves `queued`, and
        the wait in Twilio's queue is bounded apart, by the alarm's grace from the request.
        """
        assert attempt.sid is not None
        redial = self.settings.redial
        ring_for = timedelta(seconds=plan.ring_seconds + redial.poll_margin_seconds)
        # Never sooner than ring time + margin after the request, as before there was a
        # queue to count apart: a grace shorter than that (even 0) cancels nothing earlier.
        queue_deadline = attempt.started_at + max(plan.grace, ring_for)
        status, answered_by = attempt.status, attempt.answered_by
        # Out of the queue already when this run took it up (a restart, a takeover): when
        # it left is not recorded, so its ring time counts from now.
        left_queue = None if status == "queued" else clock.now()
        # A call just placed is queued for a while yet; asking at once would only compete
        # with the requests of other alarms due at the same moment.
        if clock.now() - attempt.started_at < timedelta(seconds=redial.poll_seconds) and not self.lease.pause(
                occurrence_id, redial.poll_seconds):
            return
        while True:
            wait = redial.poll_seconds
            try:
                outcome = self.dialer.fetch_call(attempt.sid)
            except DialError as exc:
                log.warning("could not fetch the status of call %s: %s", attempt.sid,
                            self.phonebook.mask_text(exc.message))
                # Twilio asked to be left alone a while (20429): the next poll waits that long.
                wait = max(wait, min(exc.retry_after or 0.0, MAX_POLL_WAIT_SECONDS))
            else:
                if outcome.final:
                    self.record.record(occurrence_id, attempt.id, {
                        "status": outcome.status, "duration_seconds": outcome.duration_seconds,
                        "answered_by": outcome.answered_by, "finished_at": clock.now()}, None)
                    log.info("call %s to %s: %s%s", attempt.sid, self._label(attempt.number), outcome.status,
                             f" (answered by {outcome.answered_by})" if outcome.answered_by else "")
                    return
                if outcome.status in callplan.ANSWERED and callplan.not_a_person(plan, outcome.answered_by) \
                        and outcome.answered_by:
                    self._hang_up_on_machine(occurrence_id, attempt, outcome.answered_by)
                    return
                if (outcome.status, outcome.answered_by) != (status, answered_by):
                    status, answered_by = outcome.status, outcome.answered_by
                    self.record.record(occurrence_id, attempt.id,
                                       {"status": status, "answered_by": answered_by}, None)
                if left_queue is None and status != "queued":
                    left_queue = clock.now()
            now = clock.now()
            if left_queue is None and now >= queue_deadline:
                self._give_up(occurrence_id, attempt, status,
                              f"Twilio kept the call queued longer than its grace ({_seconds(plan.grace)})",
                              "was still queued at Twilio past its grace")
                return
            if left_queue is not None and now >= left_queue + ring_for:
                self._give_up(occurrence_id, attempt, status,
                              f"Twilio reported no final status within {plan.ring_seconds} s of ringing",
                              "had no outcome past its ring time")
                return
            if not self.lease.pause(occurrence_id, wait):
                return

    def _give_up(self, occurrence_id: int, attempt: Attempt, status: str, why: str, logged: str) -> None:
        """End the following of a call past its deadline, canceling it unless someone picked up."""
        assert attempt.sid is not None
        # In progress means someone picked up (hold music plays until they hang up).
        message = None if status in callplan.ANSWERED else why
        if status not in callplan.ANSWERED and self._cancel(occurrence_id, attempt, logged):
            # Still queued or ringing: stopped, so a redial cannot ring beside it.
            status = "canceled"
        self.record.record(occurrence_id, attempt.id, {
            "status": status, "error_message": message, "finished_at": clock.now()}, None)

    def _hang_up_on_machine(self, occurrence_id: int, attempt: Attempt, answered_by: str) -> None:
        """A voicemail is not awake: end the call now, so the redial (or the fallback) comes sooner
        and the machine records no hold music."""
        assert attempt.sid is not None
        message = None
        try:
            self._paced(occurrence_id, attempt, self.dialer.hang_up)
        except DialError as exc:
            message = f"could not hang up on the machine ({self.phonebook.mask_text(exc.message)})"
            log.warning("call %s: %s", attempt.sid, message)
        log.info("call %s to %s: answered by %s, not a person; hung up", attempt.sid,
                 self._label(attempt.number), answered_by)
        self.record.record(occurrence_id, attempt.id, {
            "status": "completed", "answered_by": answered_by, "error_message": message,
            "finished_at": clock.now()}, None)

    def _cancel(self, occurrence_id: int, attempt: Attempt, why: str) -> bool:
        sid = attempt.sid
        try:
            self._paced(occurrence_id, attempt, self.dialer.cancel_call)
        except DialError as exc:
            log.warning("could not cancel call %s: %s", sid, self.phonebook.mask_text(exc.message))
            return False
        log.warning("call %s %s; canceled it", sid, why)
        return True

    def _paced(self, occurrence_id: int, attempt: Attempt, update: Callable[[str], None]) -> None:
        """Cancel or hang up; asked again while Twilio answers too many requests (20429).

        A call left ringing because its cancel was refused in a burst could ring beside the
        redial that follows: so the update waits what Twilio asked (and a share more, as
        alarmd.calls.pacing spreads a burst's retries), a few times, then gives up as before.
        """
        assert attempt.sid is not None
        for tries in range(1, RATE_LIMITED_TRIES + 1):
            try:
                update(attempt.sid)
                return
            except DialError as exc:
                if exc.code not in pacing.RATE_LIMITED or tries == RATE_LIMITED_TRIES:
                    raise
                asked = min(exc.retry_after or 0.0, MAX_POLL_WAIT_SECONDS)
                if not self.lease.pause(occurrence_id, pacing.paced_seconds(MIN_RATE_LIMITED_WAIT_SECONDS, asked,
                                                                            attempt.id)):
                    raise

    def _label(self, number: str) -> str:
        entry = self.phonebook.by_number(number)
        # No longer configured: whether it was secret is unknown, so it is masked.
        return entry.label() if entry is not None else mask(number)


def _seconds(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} s"
