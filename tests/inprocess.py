"""The service layer in this process, over a real SQLite file and the Twilio stand-in through
the real SDK: for delivery tests that drive one occurrence at a time, without a scheduler.

conftest's `fake` fixture puts the delivery and the stand-in on one fake clock (tests/fakeclock.py):
its waits take no time, so a redial interval or a Retry-After costs nothing to test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from alarmd import clock
from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.calls.dialers import make_dialer
from alarmd.config.settings import load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.store import db
from tests.conftest import Home, twilio_block
from tests.twilio_standin import TwilioStandin


def service_maker(home: Home, standin: TwilioStandin, fast: dict[str, Any], **alarmd: Any
                  ) -> Iterator[Callable[..., AlarmService]]:
    """For a fixture: yields make(**redial), a service on a config of `fast` | redial (and the
    `alarmd` blocks given, such as limits); then closes them all."""
    engines = []

    def make(**redial: Any) -> AlarmService:
        home.migrated().write_config(twilio_block(standin), redial=fast | redial, **alarmd)
        settings = load_settings(home.config_path, env=home.env())
        engine = open_database(settings)
        engines.append(engine)
        dialer = make_dialer(settings.twilio, timeout=settings.redial.request_timeout_seconds)
        return AlarmService(db.session_factory(engine), dialer, settings, phonebook_of(settings))

    yield make
    for engine in engines:
        engine.dispose()


def ring_now(service: AlarmService, **options: Any) -> dict[str, Any]:
    """Add a one-off due now, claim it, deliver it (blocking); its history entry."""
    now = clock.now()
    alarm = service.add_alarm(AlarmInput(to=options.pop("to", "MOBILE"), at=now.isoformat(), **options), now)
    (occurrence_id,) = service.claim_due(alarm["id"], clock.now() + timedelta(milliseconds=1))
    service.fire_occurrence(occurrence_id)
    (entry,) = service.history(alarm_ref=alarm["id"])
    return entry
