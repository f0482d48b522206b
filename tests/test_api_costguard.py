"""The cost guard in-process: 429 at the door for manual dials, "refused: limit" for scheduled calls,
and what counts (calls that may have reached Twilio, and dials already answered 202).

What counts is asked of the service's database alone; the door and the race, through the
API served on a port (tests.apiapp) with calls in real time, are system tests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alarmd.alarms.service import AlarmService
from alarmd.calls import costguard
from alarmd.config.settings import load_settings
from alarmd.errors import ConfigError, LimitExceeded
from alarmd.store.models import Occurrence
from tests.apiapp import LiveApi, live_api
from tests.conftest import Home, twilio_block
from tests.inprocess import service_maker
from tests.twilio_standin import Answer, TwilioStandin

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
LIMITS = {"callsPerHour": 4, "dialsPerHour": 3}


@pytest.fixture
def api(home: Home, standin: TwilioStandin) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(standin), limits=LIMITS) as live:
        yield live


@pytest.fixture
def service(home: Home, standin: TwilioStandin) -> Iterator[AlarmService]:
    for make in service_maker(home, standin, {}, limits=LIMITS):
        yield make()


def insert_attempts(service: AlarmService, *attempts: tuple[str, str | None, str, bool],
                    reason: str = "dial") -> None:
    """(started "YYYY-MM-DD HH:MM:SS", sid, status, may_have_placed), all on one occurrence."""
    with service.sessions.begin() as session:
        connection = session.connection()
        connection.exec_driver_sql(
            "INSERT INTO occurrences (claim_key, reason, to_ref, scheduled_at, status, created_at) "
            f"VALUES ('{reason}:seeded', '{reason}', '0', '2026-11-26 10:00:00', 'accepted', '2026-11-26 10:00:00')")
        (occurrence_id,) = connection.exec_driver_sql("SELECT max(id) FROM occurrences").one()
        for started, sid, status, may_have_placed in attempts:
            connection.exec_driver_sql(
                "INSERT INTO attempts (occurrence_id, number, dialer, started_at, sid, status, permanent, "
                "may_have_placed) VALUES (?, '+447700900123', 'twilio', ?, ?, ?, 0, ?)",
                (occurrence_id, started, sid, status, may_have_placed))


@pytest.mark.system
def test_dials_beyond_their_cap_are_429_and_store_nothing(
    api: LiveApi, standin: TwilioStandin, caplog: pytest.LogCaptureFixture
) -> None:
    for ref in ("0", "MOBILE", "1"):
        assert api.client.post(f"/twilio/{ref}").status_code == 202
    standin.wait_for_creates(3)
    api.wait_for(lambda: api.rows("SELECT count(*) FROM attempts WHERE sid IS NOT NULL") == [(3,)])
    refused = api.client.post("/twilio/0")
    assert refused.status_code == 429
    assert refused.json() == {"error": "The cost guard allows 3 manual dials per hour (alarmd.limits.dialsPerHour), "
                                       "keeping the rest of alarmd.limits.callsPerHour for wake-ups, and in the last "
                                       "hour 3 were placed; try again later."}
    assert api.count("occurrences") == 3 and len(standin.creates()) == 3
    # NMO may wait this long: until the oldest of the three leaves the hour.
    assert 3590 <= int(refused.headers["retry-after"]) <= 3600
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
    assert len(warnings) == 1 and "MOBILE" in warnings[0].getMessage()
    # Scheduling a call is not placing one: it is judged when it comes due.
    assert api.client.post("/twilio/0", json={"at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}
                           ).status_code == 201


@pytest.mark.system
def test_wake_ups_keep_the_room_dials_leave_and_the_total_still_holds_for_them(
    api: LiveApi, standin: TwilioStandin, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        assert api.client.post("/twilio/OFFICE").status_code == 202
    standin.wait_for_creates(3)
    api.wait_for(lambda: api.rows("SELECT count(*) FROM attempts WHERE sid IS NOT NULL") == [(3,)])
    outcomes = []
    for name in ("first", "second"):
        alarm = api.client.post("/v1/alarms", json={"to": "OFFICE", "daily": "07:00", "name": name}).json()
        due = datetime.fromisoformat(alarm["next_fire_at"])
        for occurrence_id in api.service.claim_due(alarm["id"], due):
            api.service.fire_occurrence(occurrence_id)
        call = api.client.get("/v1/calls", params={"alarm": name}).json()["calls"][0]
        outcomes.append((call["status"], call["detail"], len(call["attempts"])))
    # The fourth call of the hour is the first wake-up's; the second finds the total used up.
    assert outcomes == [("answered", None, 1), ("refused", "refused: limit", 0)]
    assert len(standin.creates()) == 4
    [warning] = [r.getMessage() for r in caplog.records
                 if r.levelno == logging.WARNING and r.name == "alarmd.delivery" and "refused" in r.getMessage()]
    assert warning == ("call to OFFICE (+44 1** *** *455) refused: the cost guard allows 4 calls per hour "
                       "(alarmd.limits.callsPerHour) and in the last hour 4 were placed; try again later.")
    # The total is a door for dials too.
    assert api.client.post("/twilio/0").json()["error"].startswith("The cost guard allows 3 manual dials")


@pytest.mark.system
def test_calls_placed_at_the_same_moment_cannot_overrun_the_limit(api: LiveApi, standin: TwilioStandin) -> None:
    standin.create_script.extend(Answer(201, None, delay=0.3) for _ in range(8))
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    with api.service.sessions.begin() as session:
        for i in range(8):
            session.connection().exec_driver_sql(
                "INSERT INTO occurrences (claim_key, reason, to_ref, scheduled_at, status, created_at) "
                f"VALUES ('keepalive:race{i}', 'keepalive', '0', '{now}', 'claimed', '{now}')")
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
    assert statuses == ["accepted"] * 4 + ["refused"] * 4  # scheduled calls: only the total applies
    assert len(standin.creates()) == 4 and api.count("attempts") == 4


def test_only_the_last_hour_counts(service: AlarmService) -> None:
    insert_attempts(service, *[((NOW - timedelta(minutes=m)).replace(tzinfo=None).isoformat(" "), f"CA{m}",
                            "completed", True) for m in (0, 30, 59, 61, 90)])
    with service.sessions.begin() as session:
        assert costguard.usage(session, NOW).total == 3
        costguard.check(session, NOW, 4)
        with pytest.raises(LimitExceeded):
            costguard.check(session, NOW, 3)
        costguard.check(session, NOW + timedelta(minutes=31), 3)  # the 30-minute-old one has aged out


def test_only_attempts_that_may_have_reached_twilio_count_and_the_sentence_says_which(
    service: AlarmService
) -> None:
    at = (NOW - timedelta(minutes=5)).replace(tzinfo=None).isoformat(" ")
    insert_attempts(service, (at, "CA1", "completed", True), (at, "CA2", "no-answer", True),
                    (at, None, "uncertain", True),  # read timeout: the call may have been placed
                    (at, None, "requesting", True),  # in flight
                    (at, None, "error", False), (at, None, "error", False))  # connection refused
    with service.sessions.begin() as session:
        used = costguard.usage(session, NOW)
        assert (used.placed, used.uncertain, used.pending) == (2, 1, 1)
        with pytest.raises(costguard.CallLimitReached) as refused:
            costguard.check(session, NOW, 4)
    assert str(refused.value) == (
        "the cost guard allows 4 calls per hour (alarmd.limits.callsPerHour) and in the last hour 2 were placed, "
        "1 may have been (the answer was lost) and 1 is about to be; try again later.")
    assert refused.value.retry_after_seconds == 55 * 60


@pytest.mark.system
def test_a_dial_answered_202_is_counted_once_before_and_after_its_attempt(
    api: LiveApi, standin: TwilioStandin
) -> None:
    standin.create_script.append(Answer(201, None, delay=0.5))
    occurrence = api.client.post("/twilio/0").json()
    with api.service.sessions.begin() as session:
        assert costguard.usage(session, datetime.now(UTC), dials_only=True).total == 1
    standin.wait_for_creates(1)
    api.wait_for(lambda: api.rows("SELECT reserved_at FROM occurrences") == [(None,)])
    with api.service.sessions.begin() as session:
        assert costguard.usage(session, datetime.now(UTC), dials_only=True).total == 1
    api.wait_for(lambda: api.client.get("/v1/calls").json()["calls"][0]["status"] == "answered")
    assert occurrence["status"] == "claimed"


def test_a_dial_retried_after_a_failure_that_cost_nothing_must_still_fit_under_the_dial_cap(
    service: AlarmService, home: Home
) -> None:
    at = (NOW - timedelta(minutes=5)).replace(tzinfo=None).isoformat(" ")
    insert_attempts(service, (at, None, "error", False))  # dial A: refused before reaching Twilio
    with service.sessions.begin() as session:
        costguard.reserve_dial(session, NOW, 4, 1)  # so dial B was admitted, the cap is 1
        session.add(Occurrence(claim_key="dial:b", reason="dial", to_ref="0", scheduled_at=NOW, status="claimed",
                               created_at=NOW, reserved_at=NOW))
    (a, b) = [row[0] for row in home.rows("SELECT id FROM occurrences ORDER BY id")]
    with service.sessions.begin() as session:
        costguard.check(session, NOW, 4, b, dials_per_hour=1)  # B's first attempt: it was promised
        with pytest.raises(costguard.CallLimitReached, match="allows 1 manual dial per hour"):
            costguard.check(session, NOW, 4, a, dials_per_hour=1)  # A's retry would be a second dial
        costguard.check(session, NOW, 4, a)  # the total alone has room


def test_the_guard_row_exists_so_its_update_really_takes_the_lock(service: AlarmService, home: Home) -> None:
    assert home.rows("SELECT key FROM state WHERE key = 'costguard'") == [("costguard",)]
    home.rows("DELETE FROM state WHERE key = 'costguard'")
    with service.sessions.begin() as session:
        costguard.check(session, NOW, 4)
    assert [key for (key,) in home.rows("SELECT key FROM state WHERE key = 'costguard'")] == ["costguard"]


def test_the_limits_default_to_20_and_half_of_it_and_must_be_whole_numbers(home: Home) -> None:
    env = {"HOME": str(home.root / "home")}
    home.write_config()
    settings = load_settings(home.config_path, env=env)
    assert (settings.calls_per_hour, settings.dials_per_hour) == (20, 10)
    home.write_config(limits={"callsPerHour": 7})
    assert load_settings(home.config_path, env=env).dials_per_hour == 3
    home.write_config(limits={"callsPerHour": 7, "dialsPerHour": 0})
    assert load_settings(home.config_path, env=env).dials_per_hour == 0
    for bad in (0, -1, "lots", 2.5, True):
        home.write_config(limits={"callsPerHour": bad})
        with pytest.raises(ConfigError, match=r"^alarmd\.limits\.callsPerHour: "):
            load_settings(home.config_path, env=env)
    for bad in (-1, "lots", 2.5, True):
        home.write_config(limits={"dialsPerHour": bad})
        with pytest.raises(ConfigError, match=r"^alarmd\.limits\.dialsPerHour: "):
            load_settings(home.config_path, env=env)
    home.write_config(limits={"callsPerHour": 5, "dialsPerHour": 5})
    with pytest.raises(ConfigError, match=r"^alarmd\.limits\.dialsPerHour: 5 leaves no room for wake-ups; it must "
                                          r"be less than alarmd\.limits\.callsPerHour \(5\)\.$"):
        load_settings(home.config_path, env=env)
    home.write_config(limits="none")
    with pytest.raises(ConfigError, match=r"^alarmd\.limits: expected a JSON object"):
        load_settings(home.config_path, env=env)
