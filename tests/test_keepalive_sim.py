"""130 simulated days of the keepalive, with the real scheduler code, a real SQLite file
and the real twilio SDK against the local stand-in; time-machine moves the clock."""

from __future__ import annotations

import itertools
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from alarmd import clock
from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.calls.dialers import make_dialer
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.daemon.scheduler import KEEPALIVE_JOB
from alarmd.phonebook import mask
from alarmd.store import db
from tests.conftest import Home
from tests.keepalive_harness import World, waits_travel
from tests.twilio_standin import TwilioStandin, twilio_error

LONDON = ZoneInfo("Europe/London")
DAY0 = date(2026, 8, 1)  # the autumn DST change (25 October) falls between days 58 and 87
FIRST_START = datetime(2026, 8, 1, 9, 0, tzinfo=LONDON)

MakeWorld = Callable[..., World]


@pytest.fixture
def make_world(home: Home, standin: TwilioStandin) -> Iterator[MakeWorld]:
    worlds: list[World] = []
    with time_machine.travel(FIRST_START, tick=True) as traveller, waits_travel(traveller):
        def make(day0: date = DAY0, hour: int = 9, tz: str = "Europe/London", twilio: bool = True,
                 numbers: bool = True, **keepalive: Any) -> World:
            traveller.move_to(datetime.combine(day0, datetime.min.time().replace(hour=hour), ZoneInfo(tz)))
            world = World(home, standin if twilio else None, traveller, day0, tz, numbers, **keepalive)
            worlds.append(world)
            return world

        yield make
        for world in worlds:
            if world.scheduler is not None:
                world.stop()


def near(instant: datetime, expected: datetime, seconds: float = 5) -> bool:
    return timedelta(0) <= instant - expected < timedelta(seconds=seconds)


def assert_called_at(world: World, expected: list[datetime]) -> None:
    calls = world.keepalive_calls()
    assert [world.day_of(c) for c in calls] == [world.day_of(e) for e in expected]
    for call, due in zip(calls, expected, strict=True):
        assert near(call, due), f"called {call}, due {due}"


def test_it_calls_at_noon_local_on_days_29_58_87_116(make_world: MakeWorld, standin: TwilioStandin) -> None:
    world = make_world()
    world.start()
    world.run_until(world.local(130))

    expected = [world.local(day) for day in (29, 58, 87, 116)]
    assert_called_at(world, expected)
    # Across the October change: 11:00 UTC in summer, 12:00 UTC in winter, 12:00 local both.
    assert [c.astimezone(UTC).hour for c in world.keepalive_calls()] == [11, 11, 12, 12]
    attempts = world.attempts()
    assert [a["reason"] for a in attempts] == ["keepalive"] * 4
    assert all(a["sid"].startswith("CA") and a["status"] == "queued" for a in attempts)
    # Each occurrence is claimed under the instant it fell due.
    assert [a["claim_key"] for a in attempts] == [
        f"keepalive:{e.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}" for e in expected]

    request = standin.creates()[0]
    assert request.field("To") == "+447700900123"
    assert request.field("Timeout") == "15"
    assert request.field("Url") is None
    say = ET.fromstring(request.field("Twiml") or "").find("Say")
    assert say is not None and say.text is not None and "keepalive" in say.text

    assert world.service is not None
    status = world.service.status()["keepalive"]
    assert status == {"enabled": True, "last_accepted_call": status["last_accepted_call"],
                      "next_due": world.local(145).isoformat(), "warning": None}
    assert near(datetime.fromisoformat(status["last_accepted_call"]), world.local(116))
    history = world.service.history()
    assert [c["reason"] for c in history] == ["keepalive"] * 4
    assert history[0]["status"] == "accepted" and history[0]["to"]["name"] == "MOBILE"


def test_an_alarm_call_on_day_20_moves_the_keepalive_to_day_49(make_world: MakeWorld,
                                                                standin: TwilioStandin) -> None:
    world = make_world()
    service = world.start()
    service.add_alarm(AlarmInput(to="MOBILE", at=world.local(20, 7).isoformat(), name="day-20"),
                      world.local(0, 9))
    world.run_until(world.local(25))
    assert service.status()["keepalive"]["next_due"] == world.local(49).isoformat()
    world.run_until(world.local(130))

    assert_called_at(world, [world.local(d) for d in (49, 78, 107)])
    alarm = [a for a in world.attempts() if a["reason"] == "alarm"]
    assert len(alarm) == 1 and near(alarm[0]["started_at"], world.local(20, 7))
    assert standin.creates()[0].field("Url", ) is not None  # the alarm kept its own TwiML URL


def test_a_failed_alarm_call_does_not_move_it(make_world: MakeWorld, standin: TwilioStandin) -> None:
    standin.create_script.append(twilio_error(21219, "The number is unverified."))
    world = make_world()
    service = world.start()
    service.add_alarm(AlarmInput(to="MOBILE", at=world.local(20, 7).isoformat()), world.local(0, 9))
    world.run_until(world.local(40))
    assert_called_at(world, [world.local(29)])
    assert [a["status"] for a in world.attempts()] == ["error", "queued"]


def test_a_dry_run_daemon_still_computes_and_does_not_loop(make_world: MakeWorld) -> None:
    world = make_world(twilio=False)
    service = world.start()
    assert service.dialer.mode == "dry-run"
    world.run_until(world.local(70))

    attempts = world.attempts()
    assert [(a["reason"], a["status"], a["sid"]) for a in attempts] == [("keepalive", "dry-run", None)] * 2
    assert [world.day_of(a["started_at"]) for a in attempts] == [29, 58]
    status = service.status()["keepalive"]
    assert status["enabled"] is True and status["last_accepted_call"] is None
    assert status["next_due"] == world.local(87).isoformat()
    # No call was ever accepted, so the number counts from the first start, and is at risk.
    assert status["warning"] == "trial number at risk: no call since 2026-08-01"


def test_restarts_on_days_10_and_28_do_not_move_it(make_world: MakeWorld) -> None:
    world = make_world()
    service = world.start()
    before = service.status()["keepalive"]["next_due"]
    world.run_until(world.local(10, 15))
    service = world.restart()
    assert service.status()["keepalive"]["next_due"] == before == world.local(29).isoformat()
    world.run_until(world.local(28, 23))
    service = world.restart()
    assert service.status()["keepalive"]["next_due"] == before
    world.run_until(world.local(130))

    assert world.restarts == 2
    assert_called_at(world, [world.local(d) for d in (29, 58, 87, 116)])


def test_down_from_day_28_to_31_calls_once_right_after_start(make_world: MakeWorld) -> None:
    world = make_world()
    world.start()
    world.run_until(world.local(28, 18))
    world.stop()
    world.travel(world.local(31, 8, 30))
    service = world.start()
    world.run_until(world.local(31, 8, 40))
    assert_called_at(world, [world.local(31, 8, 30)])
    late = world.attempts()[0]
    # Claimed under the instant it fell due; scheduled (and placed) at the start.
    assert late["claim_key"] == f"keepalive:{world.local(29).astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    assert near(late["scheduled_at"], world.local(31, 8, 30))
    # A restart right after the late call calls nobody again.
    service = world.restart()
    assert service.status()["keepalive"]["next_due"] == world.local(60).isoformat()
    world.run_until(world.local(130))

    assert_called_at(world, [world.local(31, 8, 30)] + [world.local(d) for d in (60, 89, 118)])


def test_a_keepalive_failing_twice_is_retried_after_5_then_30_minutes(make_world: MakeWorld,
                                                                      standin: TwilioStandin) -> None:
    standin.create_script.extend([twilio_error(20500, "Internal Server Error", 500),
                                  twilio_error(20429, "Too Many Requests", 429)])
    world = make_world()
    service = world.start()
    world.run_until(world.local(29, 12, 1))
    assert service.status()["keepalive"]["next_due"] == world.local(29, 12, 5).isoformat()
    world.run_until(world.local(60))

    attempts = world.attempts()
    assert [a["status"] for a in attempts] == ["error", "error", "queued", "queued"]
    assert "Internal Server Error (20500)" in attempts[0]["error"] and "(20429)" in attempts[1]["error"]
    assert [world.day_of(a["started_at"]) for a in attempts] == [29, 29, 29, 58]
    for attempt, due in zip(attempts, [world.local(29), world.local(29, 12, 5), world.local(29, 12, 35),
                                       world.local(58)], strict=True):
        assert near(attempt["started_at"], due)
    # Each try is its own occurrence in history, reason keepalive.
    history = service.history()
    assert [c["status"] for c in history] == ["accepted", "accepted", "failed", "failed"]
    assert {c["reason"] for c in history} == {"keepalive"}


def test_a_long_outage_retries_every_6_hours_and_warns_once_a_day(
    make_world: MakeWorld, standin: TwilioStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="alarmd.service")
    standin.create_script.extend(twilio_error(20503, "Service Unavailable", 503) for _ in range(100))
    world = make_world()
    service = world.start()
    api = world.api()
    world.run_until(world.local(30, 8, 59))
    assert service.status()["keepalive"]["warning"] is None
    assert api.get("/healthz").json()["warning"] is None

    world.run_until(world.local(30, 9, 1))  # 31 days after the first start at 09:00
    warning = "trial number at risk: no call since 2026-08-01"
    assert api.get("/v1/status").json()["keepalive"]["warning"] == warning
    healthz = api.get("/healthz")
    assert healthz.status_code == 200 and healthz.json()["warning"] == warning

    world.run_until(world.local(31, 22))
    standin.create_script.clear()  # Twilio is back
    world.run_until(world.local(32, 12))

    tries = [a["started_at"] for a in world.attempts()]
    gaps = [round((b - a).total_seconds() / 60) for a, b in itertools.pairwise(tries)]
    # 12:00, 12:05, 12:35, 14:35, then every 6 h until the one at 02:35 on day 32 is accepted.
    assert gaps == [5, 30, 120] + [360] * 10
    assert near(tries[-1], world.local(32, 2, 35))
    assert [a["status"] for a in world.attempts()][-2:] == ["error", "queued"]
    logged = [r for r in caplog.records if "trial number at risk" in r.getMessage()]
    # Once on day 30 and once on day 31, however many retries ran in between.
    assert [datetime.fromtimestamp(r.created, LONDON).replace(microsecond=0, second=0)
            for r in logged] == [world.local(30, 9), world.local(31, 9)]
    assert logged[0].levelno == logging.WARNING
    status = api.get("/v1/status").json()["keepalive"]
    assert status["warning"] is None and api.get("/healthz").json()["warning"] is None
    assert status["next_due"] == world.local(61).isoformat()  # 29 days after the accepted call


def test_a_spring_dst_change_keeps_keepalives_at_noon_local(make_world: MakeWorld) -> None:
    world = make_world(day0=date(2027, 1, 20), tz="America/New_York")  # DST starts 14 March
    world.start()
    world.run_until(world.local(130))
    calls = world.keepalive_calls()
    assert_called_at(world, [world.local(d) for d in (29, 58, 87, 116)])
    assert [(c.hour, c.minute) for c in calls] == [(12, 0)] * 4
    # 17:00 UTC (EST) on day 29, 16:00 UTC (EDT) from day 58 on.
    assert [c.astimezone(UTC).hour for c in calls] == [17, 16, 16, 16]


def test_enabled_false_calls_nobody_and_says_so(make_world: MakeWorld, standin: TwilioStandin) -> None:
    world = make_world(enabled=False)
    service = world.start()
    assert world.scheduler is not None
    assert world.scheduler.scheduler.get_job(KEEPALIVE_JOB) is None
    world.run_until(world.local(130))
    assert standin.creates() == []
    assert service.status()["keepalive"] == {"enabled": False, "last_accepted_call": None,
                                             "next_due": None, "warning": None}


def test_with_no_number_to_call_it_is_off_and_says_so(make_world: MakeWorld, standin: TwilioStandin) -> None:
    world = make_world(twilio=False, numbers=False)  # a fresh install: dry-run, no phoneNumbers yet
    service = world.start()
    world.run_until(world.local(40))
    assert world.attempts() == [] and service.history() == []
    assert service.status()["keepalive"] == {"enabled": False, "last_accepted_call": None,
                                             "next_due": None, "warning": None}


def test_the_keepalive_can_name_its_number_and_time(make_world: MakeWorld, standin: TwilioStandin) -> None:
    world = make_world(number="OFFICE", at="18:30", ringSeconds=20, everyDays=14)
    world.start()
    world.run_until(world.local(30))
    assert_called_at(world, [world.local(14, 18, 30), world.local(28, 18, 30)])
    assert {(r.field("To"), r.field("Timeout")) for r in standin.creates()} == {("+441122334455", "20")}
    assert world.service is not None
    # OFFICE is secret: history masks it.
    assert world.service.history()[0]["to"]["number"] == mask("+441122334455") != "+44 1122 334455"


def test_a_crash_between_claim_and_dial_is_carried_on_once_at_restart(make_world: MakeWorld) -> None:
    world = make_world()
    service = world.start()
    world.run_until(world.local(29, 11, 59))
    world.travel(world.local(29))
    assert service.claim_keepalive(clock.now()) is not None  # ... and the daemon dies before dialling
    service = world.restart()
    # The restart carries the claimed occurrence on (alarmd.delivery): one call, at once.
    assert service.status()["keepalive"]["next_due"] == world.local(58).isoformat()
    world.run_until(world.local(29, 13))
    assert_called_at(world, [world.local(29)])
    assert len(world.attempts()) == 1


def test_a_keepalive_claimed_before_a_long_outage_is_carried_on_at_restart(make_world: MakeWorld) -> None:
    world = make_world()
    service = world.start()
    world.run_until(world.local(29, 11, 59))
    world.travel(world.local(29))
    assert service.claim_keepalive(clock.now()) is not None  # ... and the daemon dies before dialling
    world.stop()
    world.travel(world.local(29, 15))  # a late keepalive is still useful: no grace limit
    world.start()
    world.run_until(world.local(29, 16))
    assert_called_at(world, [world.local(29, 15)])
    assert len(world.attempts()) == 1


def test_two_daemons_on_one_database_claim_the_keepalive_once(make_world: MakeWorld) -> None:
    world = make_world()
    first = world.start()
    world.run_until(world.local(29, 11, 59))
    engine = open_database(world.settings)
    second = AlarmService(db.session_factory(engine), make_dialer(world.settings.twilio), world.settings,
                          phonebook_of(world.settings))
    world.travel(world.local(29))
    claims = [first.claim_keepalive(clock.now()), second.claim_keepalive(clock.now())]
    engine.dispose()
    assert claims[0] is not None and claims[1] is None
