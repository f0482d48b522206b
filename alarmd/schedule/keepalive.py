"""Pure keepalive math: when the next keepalive call is due, its retries, the at-risk warning.

Twilio deletes a free-trial number after 30 days without a call, so alarmd calls one
configured number every `everyDays` (at most 29) days, counted from the last call Twilio
accepted for any reason (alarm, manual dial, keepalive), at `at` local time. Nothing
here reads the clock or the database: the service gathers the facts (History), these
functions turn them into instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from alarmd.schedule import rules

# After a failed keepalive: 5 min, 30 min, 2 h, then every 6 h until Twilio accepts one.
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
RETRY_EVERY = timedelta(hours=6)
# A try still unfinished this long after its claim is taken as failed then: alarmd died
# mid-call (a Twilio request gives up after 10 s; a delivery's own retries are shorter).
STUCK_AFTER = timedelta(minutes=15)
# The at-risk warning is logged again at most this often while it lasts.
WARNING_LOG_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    """The keepalive settings in the form the math needs."""

    every_days: int
    at: time
    zone: ZoneInfo


@dataclass(frozen=True)
class History:
    """What the database says about past calls, as far as the keepalive cares."""

    first_start: datetime  # the daemon's first start: the clock before any call
    last_accepted: datetime | None  # newest call Twilio accepted (an attempt with a SID)
    # Newest keepalive "placed" by the dry-run dialer: it proves nothing to Twilio, but
    # the schedule moves on from it, or a dry-run daemon would dial in a loop.
    last_dry_run: datetime | None = None
    # When each keepalive try since `since` failed (failed_at), oldest first: Twilio
    # error, network, cost guard, or alarmd died mid-call.
    failures: tuple[datetime, ...] = ()

    @property
    def since(self) -> datetime:
        """The instant the regular schedule counts from."""
        return max(t for t in (self.first_start, self.last_accepted, self.last_dry_run) if t is not None)

    @property
    def last_call(self) -> datetime:
        """The instant the number was last known to be in use (the warning counts from it)."""
        return self.last_accepted or self.first_start


def regular_due(since: datetime, plan: Plan) -> datetime:
    """`at` local time on the day `every_days` after `since`'s local day.

    Counting in local days keeps every keepalive at `at` across DST changes; an `at`
    inside a spring gap follows the alarms' policy (rules.resolve_local).
    """
    day = since.astimezone(plan.zone).date() + timedelta(days=plan.every_days)
    return rules.resolve_local(datetime.combine(day, plan.at), plan.zone)


def failed_at(claimed: datetime, finished: datetime | None) -> datetime:
    """When a keepalive try that got no call accepted counts as failed."""
    return finished if finished is not None else claimed + STUCK_AFTER


def retry_delay(failures: int) -> timedelta:
    """The wait after the `failures`-th failed try in a row (1-based)."""
    if failures < 1:
        raise ValueError("retry_delay needs at least one failure")
    return RETRY_DELAYS[failures - 1] if failures <= len(RETRY_DELAYS) else RETRY_EVERY


def next_due(history: History, plan: Plan) -> datetime:
    """When the next keepalive call should be placed (in the past when overdue)."""
    if history.failures:
        # Whole seconds: the instant is shown in status and names the retry's claim.
        return (history.failures[-1] + retry_delay(len(history.failures))).replace(microsecond=0)
    return regular_due(history.since, plan)


def at_risk_from(history: History, plan: Plan) -> datetime:
    """From this instant on the number counts as at risk (last call everyDays + 1 days old)."""
    return history.last_call + timedelta(days=plan.every_days + 1)


def warning(history: History, plan: Plan, now: datetime) -> str | None:
    """The at-risk sentence for status and /healthz, or None while all is well."""
    if now < at_risk_from(history, plan):
        return None
    return f"trial number at risk: no call since {history.last_call.astimezone(plan.zone):%Y-%m-%d}"


def next_warning_log(history: History, plan: Plan, last_logged: datetime | None) -> datetime:
    """When the warning should next be written to the log: once a day while it lasts."""
    start = at_risk_from(history, plan)
    if last_logged is None or last_logged < start:
        return start
    return last_logged + WARNING_LOG_EVERY

