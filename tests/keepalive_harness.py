"""Months of daemon life in seconds: the real service and scheduler, a real SQLite file,
the real twilio SDK against the local stand-in, and time-machine moving the clock.

APScheduler is started paused, so its thread never runs a job on its own; `run_until`
does what its loop does (take the job with the earliest next_run_time, drop the spent
DateTrigger job, run its function) after travelling to that instant. A restart is new
service and scheduler objects on the same database file. With `waits_travel`, a delivery's
waits (a redial, a poll) move time-machine's clock on instead of sleeping.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from starlette.exceptions import StarletteDeprecationWarning

from alarmd import clock
from alarmd.alarms.service import AlarmService
from alarmd.api.app import create_app
from alarmd.calls.dialers import make_dialer
from alarmd.config.settings import Settings, load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.daemon.scheduler import AlarmScheduler
from alarmd.store import db
from tests.conftest import API_TOKEN, Home, twilio_block
from tests.twilio_standin import TwilioStandin

with warnings.catch_warnings():
    # Starlette asks for its httpx fork; the test client works the same with httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


class TravellingClock:
    """alarmd.clock's source in a World: time-machine's clock, whose waits travel rather than sleep.

    Deliveries run inline on the test's thread here, so only one thing waits at a time.
    """

    def __init__(self, traveller: time_machine.Coordinates):
        self.traveller = traveller
        self.real = clock.SystemClock()

    def now(self) -> datetime:
        return self.real.now()  # time-machine's, as it patches datetime.now

    def monotonic(self) -> float:
        return self.real.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if not event.is_set():
            self.traveller.shift(seconds)
        return event.is_set()


@contextmanager
def waits_travel(traveller: time_machine.Coordinates) -> Iterator[None]:
    previous = clock.use(TravellingClock(traveller))
    try:
        yield
    finally:
        clock.use(previous)


class World:
    def __init__(self, home: Home, standin: TwilioStandin | None, traveller: time_machine.Coordinates,
                 day0: date, tz: str = "Europe/London", numbers: bool = True, **keepalive: Any):
        self.home = home
        self.standin = standin
        self.traveller = traveller
        self.day0 = day0
        self.zone = ZoneInfo(tz)
        twilio = twilio_block(standin) if numbers else twilio_block(standin, phoneNumbers=[])
        home.migrated().write_config(twilio, timezone=tz, keepalive=keepalive)
        self.settings: Settings = load_settings(home.config_path, env=home.env())
        self.scheduler: AlarmScheduler | None = None
        self.service: AlarmService | None = None
        self.restarts = 0

    # --- the daemon's life --------------------------------------------------------

    def start(self) -> AlarmService:
        assert self.scheduler is None, "stop first"
        self.engine = open_database(self.settings)
        self.service = AlarmService(db.session_factory(self.engine), make_dialer(self.settings.twilio),
                                    self.settings, phonebook_of(self.settings))
        self.scheduler = AlarmScheduler(self.service)
        # Jobs get their next_run_time as in a running scheduler; only run_until runs them.
        self.scheduler.scheduler.start = functools.partial(self.scheduler.scheduler.start, paused=True)
        # A delivery runs on a thread of its own in the daemon; here it runs inline, so the
        # call is placed before the clock moves on to the next job.
        self.scheduler.deliver = self.scheduler._fire  # type: ignore[method-assign]
        self.scheduler.start()
        return self.service

    def stop(self) -> None:
        assert self.scheduler is not None
        self.scheduler.shutdown()
        self.engine.dispose()
        self.scheduler = self.service = None

    def restart(self) -> AlarmService:
        self.stop()
        self.restarts += 1
        return self.start()

    def run_until(self, end: datetime) -> None:
        """Run every job that falls due before `end`, in order, then move the clock to `end`."""
        assert self.scheduler is not None
        while True:
            jobs = [j for j in self.scheduler.scheduler.get_jobs() if j.next_run_time is not None]
            if not jobs:
                break
            job = min(jobs, key=lambda j: j.next_run_time)
            when = max(job.next_run_time, clock.now())
            if when > end:
                break
            self.travel(when)
            job.remove()  # what APScheduler does with a DateTrigger job once it has run
            job.func(*job.args, **job.kwargs)
        self.travel(end)

    def travel(self, when: datetime) -> None:
        assert when >= clock.now() - timedelta(seconds=1), "time only moves forward here"
        self.traveller.move_to(when)

    # --- reading the world --------------------------------------------------------

    def local(self, day: int, hour: int = 12, minute: int = 0) -> datetime:
        """`hour:minute` local on day `day` (day 0 is the first start's day)."""
        return datetime.combine(self.day0 + timedelta(days=day), time(hour, minute), self.zone)

    def day_of(self, instant: datetime) -> int:
        return (instant.astimezone(self.zone).date() - self.day0).days

    def attempts(self, reason: str | None = None) -> list[dict[str, Any]]:
        """Every dialler request written, oldest first: started_at (aware), reason, sid, status."""
        query = ("SELECT a.started_at, o.reason, a.sid, a.status, a.error_message, o.scheduled_at, "
                 "o.claim_key FROM attempts a JOIN occurrences o ON o.id = a.occurrence_id ORDER BY a.id")
        with sqlite3.connect(self.settings.database) as conn:
            rows = conn.execute(query).fetchall()
        conn.close()
        found = [{"started_at": _utc(r[0]), "reason": r[1], "sid": r[2], "status": r[3], "error": r[4],
                  "scheduled_at": _utc(r[5]), "claim_key": r[6]} for r in rows]
        return [a for a in found if reason is None or a["reason"] == reason]

    def keepalive_calls(self) -> list[datetime]:
        """Local instants of keepalive requests that reached the stand-in."""
        assert self.standin is not None
        return [datetime.fromtimestamp(r.at, self.zone) for r in self.standin.creates()
                if r.field("Twiml") is not None]

    def api(self) -> TestClient:
        assert self.service is not None and self.scheduler is not None
        return TestClient(create_app(self.service, API_TOKEN, lambda: True),
                          headers={"Authorization": f"Bearer {API_TOKEN}"})


def _utc(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
