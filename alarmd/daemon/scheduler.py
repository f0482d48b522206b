"""APScheduler wiring: APScheduler is the clock, alarmd's tables are the truth.

Each alarm due within the hour has one job in an in-memory store, a DateTrigger at the
alarm's next_fire_at; alarms further out get theirs as they come within the hour
(alarmd.daemon.horizon). When it runs, the service claims what is due, the job is set
for the next occurrence, and the claimed occurrence is dialled. At start every alarm due
(or overdue) goes through the same path, which is how occurrences missed while the
daemon was down are dialled late (inside grace) or recorded as missed.

The keepalive has one more job, "keepalive", a DateTrigger at the service's
keepalive_wake_at: the next keepalive call (overdue after downtime: at once) or the next
at-risk log line. Each run re-reads the database, so an alarm call Twilio accepted in
the meantime moves the keepalive without any hook here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_SCHEDULER_STARTED, JobSubmissionEvent, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alarmd import clock
from alarmd.alarms.service import AlarmService
from alarmd.calls import callplan
from alarmd.daemon.horizon import Horizon
from alarmd.store import trouble
from alarmd.store.trouble import database_trouble

log = logging.getLogger("alarmd.scheduler")

# Enough threads that many alarms due in the same second each get their own.
WORKERS = 32
RETRY_AFTER_ERROR = timedelta(seconds=30)  # the keepalive's
# A claim that failed (the database locked or unreachable) is tried again this soon, doubling.
RETRY_FIRST = timedelta(seconds=0.5)
RETRY_MAX = timedelta(seconds=5)
# Each alarm's job runs this long before it is due: claiming it and preparing the
# delivery take a moment (longer with many alarms due at once), and the delivery then
# waits for the due instant itself, so the request leaves on time.
CLAIM_AHEAD = callplan.LEAD
# How often unfinished occurrences whose daemon died (its lease ran out) are looked for.
# Every few seconds: a node that took over from a dead one rings within the lease plus this.
RESUME_EVERY_SECONDS = 5
KEEPALIVE_JOB = "keepalive"
START_TIMEOUT_SECONDS = 10


class AlarmScheduler:
    def __init__(self, service: AlarmService):
        self.service = service
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(WORKERS)},
            # Lateness is judged by the service against each alarm's own grace window,
            # so APScheduler itself must run a job however late it is.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        service.on_alarm_change(self.sync)
        service.on_dispatch(self.submit)
        # Failed claims in a row per alarm, for the retry's backoff.
        self._failures: dict[int, int] = {}
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        # The keepalive's settings (and whether there is a number to call) may have changed.
        service.on_settings_loaded(self.sync_keepalive)
        self.horizon = Horizon(self.scheduler, service, self._set_job, self._drop_job, _host)
        self._loop: threading.Thread | None = None  # APScheduler's loop runs on it

    def start(self) -> None:
        self._start_loop()
        self.resume()
        self.horizon.fill()
        self.service.record_first_start(clock.now())
        self.sync_keepalive()
        keepalive = self.service.keepalive_status(clock.now())
        log.info("keepalive: %s", f"next call due {keepalive['next_due']}" if keepalive["enabled"]
                 else "off (alarmd.keepalive.enabled is false or twilio.phoneNumbers is empty)")

    def resume_periodically(self) -> None:
        """Look for unfinished occurrences every RESUME_EVERY_SECONDS (the daemon's job): a
        second daemon on the same database takes over those whose daemon died."""
        self.every("resume", RESUME_EVERY_SECONDS, self.resume)

    def resume(self) -> None:
        """Carry on occurrences a stop or a crash left unfinished (delivery decides if it may)."""
        try:
            for occurrence_id in self.service.resumable_occurrences():
                self.deliver(occurrence_id)
        except Exception:
            log.exception("unfinished occurrences could not be looked up")

    def deliver(self, occurrence_id: int) -> None:
        """Deliver on a thread of its own: a delivery lasts minutes (redials), and many
        alarms due in the same second must each be dialled at once, not wait for a worker."""
        threading.Thread(target=self._fire, args=[occurrence_id], name=f"occurrence-{occurrence_id}",
                         daemon=True).start()

    def _start_loop(self) -> None:
        """Run APScheduler's loop (BlockingScheduler.start) on a thread of ours; return once it runs.

        The thread being ours, is_alive can tell a loop ended by an error (the watchdog's pings
        stop, /healthz answers 503) from one that runs.
        """
        started = threading.Event()

        def on_start(_event: SchedulerEvent) -> None:
            started.set()

        self.scheduler.add_listener(on_start, EVENT_SCHEDULER_STARTED)
        # Named as APScheduler names its own loop's thread, so the logs read as they did.
        self._loop = threading.Thread(target=self.scheduler.start, name="APScheduler", daemon=True)
        self._loop.start()
        started.wait(START_TIMEOUT_SECONDS)
        self.scheduler.remove_listener(on_start)
        if not self.scheduler.running:
            raise RuntimeError("the scheduler did not start")

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._loop is not None and self._loop is not threading.current_thread():
            self._loop.join(START_TIMEOUT_SECONDS)

    def is_alive(self) -> bool:
        """Whether the scheduler runs: started, not shut down, and its loop not ended by an error."""
        return bool(self.scheduler.running and self._loop is not None and self._loop.is_alive())

    def sync(self, alarm_id: int) -> None:
        """Make the alarm's job match its next_fire_at (add, move, or drop it; none beyond the horizon)."""
        self.horizon.place(alarm_id, self.service.next_fire_at(alarm_id))

    def _set_job(self, alarm_id: int, when: datetime, replace: bool) -> None:
        # A fill's row does not replace a job already there: that one was set by a sync, and
        # any change since has its own sync coming (each write of next_fire_at is followed by one).
        with contextlib.suppress(ConflictingIdError):
            self.scheduler.add_job(
                self._run_alarm, DateTrigger(run_date=_host(when - CLAIM_AHEAD), timezone=UTC), args=[alarm_id, when],
                id=f"alarm-{alarm_id}", replace_existing=replace,
            )

    def _drop_job(self, alarm_id: int) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(f"alarm-{alarm_id}")

    def set_again(self) -> None:
        """Set every job again after the wall clock stepped: alarms and the keepalive from the
        database, the interval jobs (watchdog, status, resume) to run now and go on from there."""
        self.horizon.forget()
        self.horizon.fill()
        for job in self.scheduler.get_jobs():
            if job.id.startswith("alarm-"):
                self.sync(int(job.id.removeprefix("alarm-")))
        self.sync_keepalive()
        for job in self.scheduler.get_jobs():
            if isinstance(job.trigger, IntervalTrigger):
                job.modify(next_run_time=clock.now())
        self.scheduler.wakeup()

    def submit(self, occurrence_id: int) -> None:
        """Dial an already-claimed occurrence now, off the caller's thread."""
        self.deliver(occurrence_id)

    def _run_alarm(self, alarm_id: int, due: datetime | None = None) -> None:
        # The job was set for `due`: claim up to it even if the clock's offset from the
        # database, measured anew every few seconds, moved a little since (on a
        # fast or slow node), or the alarm would be set again for the same instant, already past.
        until = clock.now() + CLAIM_AHEAD
        try:
            claimed = self.service.claim_due(alarm_id, until if due is None else max(until, due))
            for occurrence_id in claimed:
                self.deliver(occurrence_id)
            self.sync(alarm_id)
        except Exception as exc:
            # Nothing may stop the scheduler; the alarm's job is set again below.
            cause = database_trouble(exc)
            if cause is None:
                log.exception("alarm %s could not be run", alarm_id)
            else:
                log.warning("alarm %s could not be claimed: %s; trying again", alarm_id, cause)
                trouble.noticed(cause)
            self._resync(alarm_id)
        else:
            self._failures.pop(alarm_id, None)

    def _skipped(self, event: JobSubmissionEvent) -> None:
        # A job set again while its own run was still going (max_instances=1) is dropped by
        # APScheduler, and with it the alarm's next claim: run it again in a moment instead.
        if event.job_id.startswith("alarm-"):
            self._run_again(int(event.job_id.removeprefix("alarm-")), clock.now() + RETRY_FIRST)

    def _fire(self, occurrence_id: int) -> None:
        try:
            self.service.fire_occurrence(occurrence_id)
        except Exception as exc:
            cause = database_trouble(exc)
            if cause is None:
                log.exception("occurrence %s could not be dialled", occurrence_id)
                return
            # Its lease runs out unrenewed; this node's resume scan, or another node's,
            # carries the occurrence on (fenced, so never twice) once the database answers.
            trouble.noticed(cause)
            log.warning("occurrence %s: %s; it is carried on once the database answers", occurrence_id, cause)

    def _resync(self, alarm_id: int) -> None:
        # Try again within a second, then backing off to at most 5 s: a due alarm then
        # rings within a few seconds of the database coming back, inside its grace.
        failures = self._failures[alarm_id] = self._failures.get(alarm_id, 0) + 1
        self._run_again(alarm_id, clock.now() + min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX))

    def _run_again(self, alarm_id: int, at: datetime) -> None:
        """The alarm's job, set to run at `at` and claim whatever is due by then."""
        self.scheduler.add_job(
            self._run_alarm, DateTrigger(run_date=_host(at), timezone=UTC), args=[alarm_id],
            id=f"alarm-{alarm_id}", replace_existing=True,
        )

    def keepalive_run_at(self) -> datetime | None:
        """When the keepalive job should run next (in the past: at once); None when it is off."""
        return self.service.keepalive_wake_at(clock.now())

    def sync_keepalive(self, when: datetime | None = None) -> None:
        when = when or self.keepalive_run_at()
        if when is None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(KEEPALIVE_JOB)
            return
        self.scheduler.add_job(self.run_keepalive, DateTrigger(run_date=_host(when), timezone=UTC),
                               id=KEEPALIVE_JOB, replace_existing=True)

    def run_keepalive(self) -> None:
        """The keepalive job: place the call if it is due, log the warning, set the next run."""
        try:
            occurrence_id = self.service.claim_keepalive(clock.now())
            if occurrence_id is not None:
                self._fire(occurrence_id)
            self.service.log_keepalive_warning(clock.now())
            self.sync_keepalive()
        except Exception:
            log.exception("the keepalive could not be run")
            self.sync_keepalive(clock.now() + RETRY_AFTER_ERROR)

    def every(self, job_id: str, seconds: float, func: Callable[[], object]) -> None:
        """Call `func` at once, then every `seconds`; each run is handed out by the scheduler's loop.

        If the scheduler thread dies or hangs, the runs stop: that is what lets a
        heartbeat job feed systemd's watchdog. The job has a one-thread executor of its
        own, so alarms being dialled never delay it.
        """
        self.scheduler.add_executor(ThreadPoolExecutor(1), alias=job_id)
        self.scheduler.add_job(
            _patient(job_id, func), IntervalTrigger(seconds=seconds, timezone=UTC), id=job_id, executor=job_id,
            replace_existing=True, next_run_time=clock.host_now(),
        )

    def jobs(self) -> list[dict[str, Any]]:
        return [{"id": job.id, "next_run_time": job.next_run_time} for job in self.scheduler.get_jobs()]


def _patient(job_id: str, func: Callable[[], object]) -> Callable[[], None]:
    """`func`, with an unavailable database logged once per cause, not as a traceback every run."""
    last: list[str | None] = [None]

    def run() -> None:
        try:
            func()
        except Exception as exc:
            cause = database_trouble(exc)
            if cause is None:
                raise
            trouble.noticed(cause)
            if cause != last[0]:
                log.warning("%s: %s; trying again", job_id, cause)
            last[0] = cause
        else:
            last[0] = None

    return run


def _host(instant: datetime) -> datetime:
    """An instant on the shared clock (alarmd.clock) as this host's clock shows it: APScheduler
    wakes by the host's clock, so a node whose clock runs fast would otherwise claim early."""
    return instant - clock.offset()
