"""The cost guard, alarmd.limits.callsPerHour: 429 for requests, "refused: limit" for scheduled calls."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alarmd.calls import costguard
from alarmd.config.settings import load_settings
from alarmd.errors import ConfigError, LimitExceeded
from tests.apiapp import LiveApi, live_api
from tests.conftest import Home, twilio_block
from tests.twilio_standin import Answer, TwilioStandin


@pytest.fixture
def api(home: Home, standin: TwilioStandin) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(standin), limits={"callsPerHour": 3}) as live:
        yield live


def test_requests_beyond_the_limit_are_429_and_store_nothing(
    api: LiveApi, standin: TwilioStandin, caplog: pytest.LogCaptureFixture
) -> None:
    for ref in ("0", "MOBILE", "1"):
        assert api.client.post(f"/twilio/{ref}").status_code == 202
    standin.wait_for_creates(3)
    api.wait_for(lambda: api.count("attempts") == 3)
    refused = api.client.post("/twilio/0")
    assert refused.status_code == 429
    assert refused.json() == {"error": "The cost guard allows 3 calls per hour (alarmd.limits.callsPerHour) "
                                       "and 3 were placed in the last hour; try again later."}
    assert api.count("occurrences") == 3 and len(standin.creates()) == 3
    # NMO may wait this long: until the oldest of the three leaves the hour.
    assert 3590 <= int(refused.headers["retry-after"]) <= 3600
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
    assert len(warnings) == 1 and "MOBILE" in warnings[0].getMessage()
    # Scheduling a call is not placing one: it is judged when it comes due.
    assert api.client.post("/twilio/0", json={"at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}
                           ).status_code == 201


def test_a_scheduled_call_beyond_the_limit_is_recorded_as_refused(
    api: LiveApi, standin: TwilioStandin, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        api.client.post("/twilio/OFFICE")
    standin.wait_for_creates(3)
    api.wait_for(lambda: api.count("attempts") == 3)
    alarm = api.client.post("/v1/alarms", json={"to": "OFFICE", "daily": "07:00", "name": "wake"}).json()
    due = datetime.fromisoformat(alarm["next_fire_at"])
    for occurrence_id in api.service.claim_due(alarm["id"], due):
        api.service.fire_occurrence(occurrence_id)
    call = api.client.get("/v1/calls", params={"alarm": "wake"}).json()["calls"][0]
    assert (call["status"], call["detail"], call["attempts"]) == ("refused", "refused: limit", [])
    assert len(standin.creates()) == 3
    [warning] = [r.getMessage() for r in caplog.records
                 if r.levelno == logging.WARNING and r.name == "alarmd.delivery" and "refused" in r.getMessage()]
    assert warning.startswith("call to OFFICE (+44 1** *** *455) refused: the cost guard allows 3 calls per hour")


def test_calls_placed_at_the_same_moment_cannot_overrun_the_limit(api: LiveApi, standin: TwilioStandin) -> None:
    standin.create_script.extend(Answer(201, None, delay=0.3) for _ in range(8))
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    with api.service.sessions.begin() as session:
        for i in range(8):
            session.connection().exec_driver_sql(
                "INSERT INTO occurrences (claim_key, reason, to_ref, scheduled_at, status, created_at) "
                f"VALUES ('dial:race{i}', 'dial', '0', '{now}', 'claimed', '{now}')")
    ids = [row[0] for row in api.rows("SELECT id FROM occurrences")]
    start = threading.Barrier(len(ids))

    def fire(occurrence_id: int) -> None:
        start.wait()
        api.service.fire_occurrence(occurrence_id)

    threads = [threading.Thread(target=fire, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(row[0] for row in api.rows("SELECT status FROM occurrences"))
    assert statuses == ["answered"] * 3 + ["refused"] * 5  # the stand-in's calls complete
    assert len(standin.creates()) == 3 and api.count("attempts") == 3


def test_only_the_last_hour_counts(api: LiveApi) -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    with api.service.sessions.begin() as session:
        session.connection().exec_driver_sql(
            "INSERT INTO occurrences (id, claim_key, reason, to_ref, scheduled_at, status, created_at) "
            "VALUES (1, 'dial:old', 'dial', '0', '2026-11-26 10:00:00', 'accepted', '2026-11-26 10:00:00')")
        for minute in (0, 30, 59, 61, 90):
            started = (now - timedelta(minutes=minute)).replace(tzinfo=None).isoformat(" ")
            session.connection().exec_driver_sql(
                "INSERT INTO attempts (occurrence_id, number, dialer, started_at, status, permanent) "
                f"VALUES (1, '+447700900123', 'twilio', '{started}', 'accepted', 0)")
    with api.service.sessions.begin() as session:
        assert costguard.calls_in_window(session, now) == 3
        costguard.check(session, now, 4)
        with pytest.raises(LimitExceeded):
            costguard.check(session, now, 3)
        costguard.check(session, now + timedelta(minutes=31), 3)  # the 30-minute-old one has aged out


def test_the_limit_defaults_to_20_and_must_be_a_positive_whole_number(home: Home) -> None:
    env = {"HOME": str(home.root / "home")}
    home.write_config()
    assert load_settings(home.config_path, env=env).calls_per_hour == 20
    for bad in (0, -1, "lots", 2.5, True):
        home.write_config(limits={"callsPerHour": bad})
        with pytest.raises(ConfigError, match=r"^alarmd\.limits\.callsPerHour: "):
            load_settings(home.config_path, env=env)
    home.write_config(limits="none")
    with pytest.raises(ConfigError, match=r"^alarmd\.limits: expected a JSON object"):
        load_settings(home.config_path, env=env)
