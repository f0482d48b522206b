"""Skips in-process: the service on a real SQLite file, the dry-run dialer, explicit instants
(time-machine where the clock itself must stand at an instant: a claim made ahead)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from alarmd.alarms.service import AlarmInput, AlarmService, SkipDays
from alarmd.alarms.skipping import MAX_SKIPS
from alarmd.daemon.supervision import status_line
from alarmd.errors import BadInput
from tests.conftest import Home
from tests.fakeclock import fake_clock
from tests.test_service import service  # noqa: F401 (the fixture)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)  # a Tuesday
WED, THU = datetime(2026, 12, 2, 7, tzinfo=UTC), datetime(2026, 12, 3, 7, tzinfo=UTC)


def add_daily(service: AlarmService, name: str = "work", days: str | None = None, at: str = "07:00") -> int:  # noqa: F811
    return int(service.add_alarm(AlarmInput(to=0, daily=at, days=days, tz="UTC", name=name), NOW)["id"])


def stored_skips(home: Home) -> str:
    with sqlite3.connect(home.db_path) as db:
        return str(db.execute("SELECT skip_instants FROM alarms").fetchone()[0])


def test_skip_in_the_seconds_before_a_ring_skips_that_ring_not_the_next(service: AlarmService) -> None:  # noqa: F811
    alarm = add_daily(service)
    with time_machine.travel(WED - timedelta(seconds=2), tick=True):
        # What the scheduler does 3 s ahead: claim the ring due at 07:00.
        [claimed] = service.claim_due(alarm, WED + timedelta(seconds=1))
        assert service.get_alarm(alarm)["next_fire_at"] == THU.isoformat()
        assert service.get_alarm(alarm)["next_ring_at"] == WED.isoformat()  # still to come
        skipped = service.skip_alarm(alarm, SkipDays(), WED - timedelta(seconds=2))
        assert skipped["skipped"] == [WED.isoformat()] and skipped["skipping"] == [WED.isoformat()]
        assert skipped["next_ring_at"] == THU.isoformat()
        service.fire_occurrence(claimed)
    [call] = service.history()
    assert (call["status"], call["detail"], call["attempts"]) == ("skipped", "skipped by request", [])


def test_unskip_in_the_seconds_before_a_ring_lets_it_ring(service: AlarmService) -> None:  # noqa: F811
    alarm = add_daily(service)
    # The delivery waits for the ring's instant on alarmd's clock: a fake one, so in no time.
    with fake_clock(WED - timedelta(seconds=1)):
        [claimed] = service.claim_due(alarm, WED + timedelta(seconds=2))
        service.skip_alarm(alarm, SkipDays(), WED - timedelta(seconds=1))
        back = service.unskip_alarm(alarm, SkipDays(), WED - timedelta(seconds=1))
        assert back["unskipped"] == [WED.isoformat()] and back["next_ring_at"] == WED.isoformat()
        service.fire_occurrence(claimed)
    assert [c["status"] for c in service.history()] == ["dry-run"]


def test_skip_next_is_the_next_ring_that_would_happen(service: AlarmService) -> None:  # noqa: F811
    alarm = add_daily(service)
    service.pause_alarm(alarm, "2026-12-05T12:00:00+00:00", NOW)
    # Paused until Saturday noon: the rings meanwhile will not happen anyway.
    assert service.skip_alarm(alarm, SkipDays(), NOW)["skipped"] == ["2026-12-06T07:00:00+00:00"]
    service.pause_alarm(alarm, None, NOW)
    with pytest.raises(BadInput, match="is paused, so no ring is coming to skip"):
        service.skip_alarm(alarm, SkipDays(), NOW)


def test_a_range_skips_every_ring_on_those_local_dates(service: AlarmService) -> None:  # noqa: F811
    alarm = int(service.add_alarm(AlarmInput(to=0, cron="0 7,19 * * 1-5", tz="America/New_York"), NOW)["id"])
    skipped = service.skip_alarm(alarm, SkipDays(first="2026-12-04", last="2026-12-07"), NOW)
    local = [datetime.fromisoformat(s).astimezone(ZoneInfo("America/New_York")) for s in skipped["skipped"]]
    assert [f"{t:%a %H:%M}" for t in local] == ["Fri 07:00", "Fri 19:00", "Mon 07:00", "Mon 19:00"]
    assert service.get_alarm(alarm)["skipping"] == skipped["skipped"]
    # Taking back one date of it leaves the rest.
    back = service.unskip_alarm(alarm, SkipDays(on="2026-12-07"), NOW)
    assert back["unskipped"] == skipped["skipped"][2:] and back["skipping"] == skipped["skipped"][:2]


@pytest.mark.parametrize(("days", "words"), [
    (SkipDays(first="2026-12-10", last="2026-12-04"), "the range runs backwards: 2026-12-10 is after 2026-12-04"),
    (SkipDays(first="2026-12-04"), "from and to go together"),
    (SkipDays(last="2026-12-04"), "from and to go together"),
    (SkipDays(on="2026-12-04", first="2026-12-04", last="2026-12-05"), "either on, or from and to"),
    (SkipDays(first="2026-11-30", last="2026-12-04"), "2026-11-30 is in the past"),
    (SkipDays(first="2026-12-04", last="2028-01-01"), "more than 366 days ahead"),
    (SkipDays(first="2026-12-05", last="2026-12-06"), "no occurrence left from 2026-12-05 to 2026-12-06"),
])
def test_a_bad_range_is_one_sentence_and_stores_nothing(service: AlarmService, home: Home,  # noqa: F811
                                                        days: SkipDays, words: str) -> None:
    alarm = add_daily(service, days="mon-fri")
    with pytest.raises(BadInput, match=words):
        service.skip_alarm(alarm, days, NOW)
    with pytest.raises(BadInput):
        service.unskip_alarm(alarm, days, NOW)
    assert stored_skips(home) == "[]"


def test_a_range_of_too_many_rings_is_refused(service: AlarmService, home: Home) -> None:  # noqa: F811
    alarm = int(service.add_alarm(AlarmInput(to=0, cron="* * * * *", tz="UTC"), NOW)["id"])
    with pytest.raises(BadInput, match=f"at most {MAX_SKIPS:,} rings"):
        service.skip_alarm(alarm, SkipDays(on="2026-12-02"), NOW)  # 1,440 rings
    assert stored_skips(home) == "[]"
    assert len(service.skip_alarm(alarm, SkipDays(on="2026-12-01"), NOW)["skipped"]) == 12 * 60 - 1


def test_nothing_to_unskip_is_one_sentence(service: AlarmService, home: Home) -> None:  # noqa: F811
    alarm = add_daily(service)
    with pytest.raises(BadInput, match=r"^alarm 1 has no skipped ring to take back\.$"):
        service.unskip_alarm(alarm, SkipDays(), NOW)
    service.skip_alarm(alarm, SkipDays(on="2026-12-24"), NOW)
    with pytest.raises(BadInput, match=r"^alarm 1 has no skipped ring on 2026-12-25 to take back\.$"):
        service.unskip_alarm(alarm, SkipDays(on="2026-12-25"), NOW)
    assert stored_skips(home) == '["2026-12-24T07:00:00+00:00"]'


def test_editing_the_schedule_keeps_the_skips_it_still_rings_at(service: AlarmService) -> None:  # noqa: F811
    alarm = add_daily(service)
    for day in ("2026-12-02", "2026-12-05", "2026-12-25"):  # Wed, Sat, Christmas (a Friday)
        service.skip_alarm(alarm, SkipDays(on=day), NOW)
    same_zone = service.edit_alarm(alarm, {"tz": "UTC"}, NOW)
    assert same_zone["dropped_skips"] == [] and len(same_zone["skipping"]) == 3
    weekdays = service.edit_alarm(alarm, {"days": "mon-fri", "daily": "07:00"}, NOW)
    assert weekdays["dropped_skips"] == ["2026-12-05T07:00:00+00:00"]
    assert weekdays["skipping"] == ["2026-12-02T07:00:00+00:00", "2026-12-25T07:00:00+00:00"]
    assert weekdays["next_ring_at"] == THU.isoformat()
    earlier = service.edit_alarm(alarm, {"daily": "06:30"}, NOW)
    assert earlier["dropped_skips"] == weekdays["skipping"] and earlier["skipping"] == []
    assert service.edit_alarm(alarm, {"name": "office"}, NOW)["dropped_skips"] == []


def test_status_names_the_alarm_that_rings_next_not_one_paused_or_skipped(service: AlarmService) -> None:  # noqa: F811
    with time_machine.travel(NOW, tick=False):
        held = add_daily(service, "held", at="06:00")
        skipped = add_daily(service, "skipped", at="06:30")
        add_daily(service, "work", at="07:00")
        service.pause_alarm(held, None, NOW)
        service.skip_alarm(skipped, SkipDays(), NOW)
        status = service.status()
        assert status["next_alarm"]["name"] == "work"
        assert status_line(status, NOW) == "next alarm Wed 07:00; dry-run"
        service.pause_alarm("work", None, NOW)
        status = service.status()
        assert status["next_alarm"]["name"] == "skipped"
        assert status_line(status, NOW) == "next alarm Thu 06:30; dry-run"
        service.pause_alarm("skipped", None, NOW)
        assert status_line(service.status(), NOW) == "no alarm due; dry-run"
