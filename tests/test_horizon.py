"""Only alarms due within the hour have a scheduler job (alarmd.daemon.horizon): those further
out still ring, once and on time, through edits, skips, removals and restarts.

Days of daemon life with the real service and scheduler, a real SQLite file and the twilio
SDK against the stand-in, time-machine moving the clock (tests/keepalive_harness.py); then
a real `alarmd run` with the horizon shortened to seconds, so alarms beyond it come within
it while the test watches.

The in-process ones are in the fast tier: a delivery's waits move time-machine's clock on
(`waits_travel`); the daemon's is a system test.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from alarmd.alarms.service import AlarmInput, SkipDays
from alarmd.daemon.horizon import HORIZON, HORIZON_JOB
from alarmd.daemon.scheduler import CLAIM_AHEAD
from tests.conftest import Home, twilio_block, wait_until
from tests.keepalive_harness import World, waits_travel
from tests.twilio_standin import TwilioStandin

LONDON = ZoneInfo("Europe/London")
DAY0 = date(2026, 10, 23)  # the autumn DST change (25 October) falls on day 2
MakeWorld = Callable[[], World]



@pytest.fixture
def make_world(home: Home, standin: TwilioStandin) -> Iterator[MakeWorld]:
    worlds: list[World] = []
    # A delivery's waits (claim to due instant, polls) move time-machine's clock on instead of sleeping.
    with time_machine.travel(datetime(2026, 10, 23, 9, 0, tzinfo=LONDON), tick=True) as traveller, \
            waits_travel(traveller):
        def make() -> World:
            world = World(home, standin, traveller, DAY0, enabled=False)
            worlds.append(world)
            return world

        yield make
        for world in worlds:
            if world.scheduler is not None:
                world.stop()


def jobs(world: World) -> dict[str, datetime]:
    assert world.scheduler is not None
    return {job["id"]: job["next_run_time"] for job in world.scheduler.jobs()}


def rang(world: World) -> list[datetime]:
    """When each alarm call was requested, in London time."""
    return [a["started_at"].astimezone(LONDON) for a in world.attempts("alarm")]


def near(instants: list[datetime], expected: list[datetime]) -> bool:
    return len(instants) == len(expected) and all(
        timedelta(0) <= got - due < timedelta(seconds=5) for got, due in zip(instants, expected, strict=True))


def test_an_alarm_beyond_the_horizon_gets_its_job_an_hour_ahead_and_rings_once_each_day(
        make_world: MakeWorld) -> None:
    world = make_world()
    service = world.start()
    daily = service.add_alarm(AlarmInput(to="MOBILE", daily="07:00", name="daily"), world.local(0, 9))
    soon = service.add_alarm(AlarmInput(to="MOBILE", at=world.local(0, 9, 30).isoformat()), world.local(0, 9))
    assert jobs(world)[f"alarm-{soon['id']}"] == world.local(0, 9, 30) - CLAIM_AHEAD
    assert f"alarm-{daily['id']}" not in jobs(world)
    assert jobs(world)[HORIZON_JOB] == world.local(1, 7) - HORIZON

    world.run_until(world.local(1, 6, 30))
    assert jobs(world)[f"alarm-{daily['id']}"] == world.local(1, 7) - CLAIM_AHEAD
    # Across the DST change on day 2, and a restart on day 3.
    world.run_until(world.local(3, 12))
    world.restart()
    world.run_until(world.local(5, 12))
    expected = [world.local(0, 9, 30)] + [world.local(day, 7) for day in range(1, 6)]
    assert near(rang(world), expected)


def test_edits_move_or_drop_the_job_and_bring_the_horizon_forward(make_world: MakeWorld) -> None:
    world = make_world()
    service = world.start()
    now = world.local(0, 9)
    near_one = service.add_alarm(AlarmInput(to="MOBILE", at=world.local(0, 9, 40).isoformat(), name="near"), now)
    far_one = service.add_alarm(AlarmInput(to="MOBILE", at=world.local(2, 8).isoformat(), name="far"), now)
    assert jobs(world)[HORIZON_JOB] == world.local(2, 8) - HORIZON

    # Within the hour to beyond it: its job goes, the horizon job comes forward to fetch it.
    service.edit_alarm("near", {"at": world.local(0, 15).isoformat()}, now)
    assert f"alarm-{near_one['id']}" not in jobs(world)
    assert jobs(world)[HORIZON_JOB] == world.local(0, 15) - HORIZON
    # Beyond to sooner but still beyond: the horizon job comes forward again.
    service.edit_alarm("far", {"at": world.local(0, 12).isoformat()}, now)
    assert jobs(world)[HORIZON_JOB] == world.local(0, 12) - HORIZON
    # Beyond to within the hour: a job at once.
    added = service.add_alarm(AlarmInput(to="MOBILE", at=world.local(1, 8).isoformat(), name="third"), now)
    service.edit_alarm("third", {"at": world.local(0, 9, 20).isoformat()}, now)
    assert jobs(world)[f"alarm-{added['id']}"] == world.local(0, 9, 20) - CLAIM_AHEAD

    world.run_until(world.local(3))
    assert near(rang(world), [world.local(0, 9, 20), world.local(0, 12), world.local(0, 15)])
    assert {f"alarm-{near_one['id']}", f"alarm-{far_one['id']}"}.isdisjoint(jobs(world))


def test_a_skip_and_a_removal_beyond_the_horizon_stop_their_rings(make_world: MakeWorld) -> None:
    world = make_world()
    service = world.start()
    now = world.local(0, 9)
    service.add_alarm(AlarmInput(to="MOBILE", daily="07:00", name="skipped"), now)
    service.add_alarm(AlarmInput(to="OFFICE", daily="06:00", name="removed"), now)
    service.skip_alarm("skipped", SkipDays(), now)
    world.run_until(world.local(0, 22))
    service.remove_alarm("removed")
    world.run_until(world.local(2, 12))
    assert near(rang(world), [world.local(2, 7)])


# --- a real daemon, its horizon shortened -------------------------------------------------

SHORT_HORIZON_DAEMON = """
import sys
from datetime import timedelta
from alarmd.daemon import horizon
from alarmd.cli.entry import main

horizon.HORIZON = timedelta(seconds=5)
sys.argv = ["alarmd", "run"]
main()
"""


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def occurrences(home: Home) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home.db_path) as db:
        return db.execute("SELECT alarm_name, scheduled_at, status FROM occurrences ORDER BY scheduled_at").fetchall()


@pytest.mark.system
def test_a_daemon_rings_alarms_from_beyond_its_horizon_once_each(home: Home) -> None:
    home.write_config(twilio_block(None), keepalive={"enabled": False})
    log_path = home.root / "short-horizon.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-c", SHORT_HORIZON_DAEMON], env=home.env(),
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: healthy(home.port), timeout=20)
            # Through the API (the CLI's requests, without a process each), so every change
            # lands while its alarm is still beyond the 5 s horizon.
            far, moved = soon(9), soon(7.5)
            assert home.api("POST", "/v1/alarms", {"at": far, "to": "MOBILE", "name": "far"})[0] in (200, 201)
            assert home.api("POST", "/v1/alarms", {"at": soon(40), "to": "MOBILE", "name": "moved"})[0] in (200, 201)
            assert home.api("PATCH", "/v1/alarms/moved", {"at": moved})[0] in (200, 201)
            assert home.api("POST", "/v1/alarms", {"at": soon(8), "to": "MOBILE", "name": "gone"})[0] in (200, 201)
            assert home.api("DELETE", "/v1/alarms/gone")[0] in (200, 201)
            assert datetime.now(UTC) < datetime.fromisoformat(moved) - timedelta(seconds=5), \
                "the requests were too slow for this test to mean anything"
            wait_until(lambda: len(occurrences(home)) == 2 and all(o[2] == "dry-run" for o in occurrences(home)),
                       timeout=30)
            time.sleep(2)  # nothing more comes
        finally:
            proc.terminate()
            proc.wait(15)
    found = occurrences(home)
    assert [(name, status) for name, _, status in found] == [("moved", "dry-run"), ("far", "dry-run")], \
        log_path.read_text()
    scheduled = [datetime.fromisoformat(at).replace(tzinfo=UTC) for _, at, _ in found]
    assert scheduled == [datetime.fromisoformat(moved), datetime.fromisoformat(far)]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


