"""Which alarms have an APScheduler job: those due within the next hour (the horizon).

A job for every stored alarm would make the daemon's memory and its start grow with the
number of alarms, for rings hours away. So one query of plain rows gives a job to each
alarm due by `covered` (an hour from the last fill), and the "horizon" job runs again when the soonest alarm beyond it
comes within the hour; it fills again then and moves `covered` on.

Why no ring is slept through:
- every alarm due by `covered` has its job, or had one that ran: a fill adds what is
  missing (never replacing a job a fresher read set), a job that ran sets the next;
- an alarm beyond `covered` has no job, and the horizon job runs no later than an hour
  before it is due: each fill sets it by the soonest one beyond, and an edit that moves
  an alarm beyond `covered` (here or on another node, alarmd.daemon.changes) brings it
  forward if needed. One lock orders fills and edits, so a fill that read before an edit
  cannot set the horizon job after the edit's wish;
- a job set from a read older than an edit can only be early: its claim finds nothing
  due (the database is the truth, alarms.firing) and sets the job from the database;
- a wall-clock step (alarmd.daemon.clockwatch) forgets `covered` and fills afresh.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger

from alarmd import clock
from alarmd.alarms.service import AlarmService
from alarmd.store import trouble
from alarmd.store.trouble import database_trouble

log = logging.getLogger("alarmd.scheduler")

# Half a minute over the hour, so the horizon job runs off the minute most alarms ring on.
HORIZON = timedelta(hours=1, seconds=30)
HORIZON_JOB = "horizon"
# A fill that failed (the database locked or unreachable) is tried again this soon.
RETRY = timedelta(seconds=5)

SetJob = Callable[[int, datetime, bool], None]  # alarm id, due instant, replace an existing job
DropJob = Callable[[int], None]


class Horizon:
    def __init__(self, scheduler: BaseScheduler, service: AlarmService, set_job: SetJob, drop_job: DropJob,
                 host: Callable[[datetime], datetime]):
        self.scheduler = scheduler
        self.service = service
        self._set_job, self._drop_job, self._host = set_job, drop_job, host
        self._lock = threading.Lock()
        self.covered: datetime | None = None  # every alarm due by then has its job; None: no fill yet
        self._wake_at: datetime | None = None  # when the horizon job runs next

    def fill(self) -> None:
        """Give its job to every alarm due within the horizon (one query); raises what the database raises."""
        with self._lock:
            until = clock.now() + HORIZON
            rows, later = self.service.alarms_due_by(self.covered, until)
            for alarm_id, when in rows:
                self._set_job(alarm_id, when, False)
            self.covered = until
            self._wake(None if later is None else later - HORIZON, only_earlier=False)

    def place(self, alarm_id: int, when: datetime | None) -> None:
        """An alarm's next ring, just read from the database: set its job, or drop it if
        it has none or is beyond the horizon (then the horizon job brings it in)."""
        with self._lock:
            if when is None or (self.covered is not None and when > self.covered):
                self._drop_job(alarm_id)
                if when is not None:
                    self._wake(when - HORIZON, only_earlier=True)
                return
            self._set_job(alarm_id, when, True)

    def forget(self) -> None:
        """After a wall-clock step: nothing is taken as covered until the next fill."""
        with self._lock:
            self.covered = None

    def run(self) -> None:
        """The horizon job."""
        try:
            self.fill()
        except Exception as exc:
            cause = database_trouble(exc)
            if cause is None:
                log.exception("the alarms coming within the hour could not be read; trying again")
            else:
                log.warning("the alarms coming within the hour could not be read: %s; trying again", cause)
                trouble.noticed(cause)
            with self._lock:
                # Not only earlier: the run this replaces is spent. A sooner wish of an
                # edit waits at most RETRY, while the database refuses fills anyway.
                self._wake(clock.now() + RETRY, only_earlier=False)

    def _wake(self, at: datetime | None, only_earlier: bool) -> None:
        """Have the horizon job run at `at` (None: not until an edit asks); the caller holds the lock."""
        if only_earlier and self._wake_at is not None and at is not None and at >= self._wake_at:
            return
        self._wake_at = at
        if at is None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(HORIZON_JOB)
            return
        self.scheduler.add_job(self.run, DateTrigger(run_date=self._host(at), timezone=UTC), id=HORIZON_JOB,
                               replace_existing=True)
