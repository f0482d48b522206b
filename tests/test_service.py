"""The service on a real SQLite file, with the dry-run dialer and explicit instants."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.calls.dialers.dryrun import DryRunDialer
from alarmd.config.settings import load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.errors import BadInput, Conflict, NoSuchAlarm, UnknownNumber
from alarmd.store.db import session_factory
from tests.conftest import Home, twilio_block

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def service(home: Home) -> AlarmService:
    home.migrated().write_config(twilio_block(None))
    settings = load_settings(home.config_path, env={"HOME": str(home.root / "home")})
    engine = open_database(settings)
    return AlarmService(session_factory(engine), DryRunDialer(), settings, phonebook_of(settings))


def run_until(service: AlarmService, alarm_id: int, start: datetime, end: datetime) -> None:
    """Do what the scheduler does: at each due instant, claim and fire what is due."""
    now = start
    while True:
        due = service.next_fire_at(alarm_id)
        if due is None or due > end:
            return
        now = max(now, due)
        for occurrence_id in service.claim_due(alarm_id, now):
            service.fire_occurrence(occurrence_id)


def rings(service: AlarmService) -> list[datetime]:
    return sorted(datetime.fromisoformat(c["scheduled_at"]) for c in service.history(limit=1000)
                  if c["status"] == "dry-run")


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
def test_a_daily_0130_alarm_is_claimed_once_on_each_transition_day(service: AlarmService, day: str) -> None:
    transition = datetime.fromisoformat(day).date()
    start = datetime.combine(transition - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to="MOBILE", daily="01:30", tz="Europe/London"), start)
    run_until(service, alarm["id"], start, start + timedelta(days=4))
    per_day = Counter(r.astimezone(LONDON).date() for r in rings(service))
    assert per_day[transition] == 1
    assert set(per_day.values()) == {1} and len(per_day) == 4


def test_a_daily_0700_alarm_rings_at_0700_local_through_both_changes(service: AlarmService) -> None:
    start = datetime(2026, 3, 27, tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to=0, daily="07:00", tz="Europe/London"), start)
    run_until(service, alarm["id"], start, datetime(2026, 3, 31, tzinfo=UTC))
    service.remove_alarm(alarm["id"])
    start = datetime(2026, 10, 23, tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to=0, daily="07:00", tz="Europe/London"), start)
    run_until(service, alarm["id"], start, datetime(2026, 10, 28, tzinfo=UTC))
    local = [r.astimezone(LONDON) for r in rings(service)]
    assert len(local) == 9
    assert {(r.hour, r.minute) for r in local} == {(7, 0)}


def test_occurrences_missed_while_down_are_recorded_and_only_the_newest_may_ring(
    service: AlarmService,
) -> None:
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to=0, daily="07:00", tz="Europe/London"), start)
    # Down for three mornings; back at 07:04 on the third, inside the 10-minute grace.
    back = datetime(2026, 11, 29, 7, 4, tzinfo=UTC)
    claimed = service.claim_due(alarm["id"], back)
    assert len(claimed) == 1
    history = {c["scheduled_at"]: c for c in service.history()}
    assert [h["status"] for h in sorted(history.values(), key=lambda h: h["scheduled_at"])] == [
        "missed", "missed", "claimed"]
    assert service.next_fire_at(alarm["id"]) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    # Claiming again (a restart, a second daemon) finds nothing new.
    assert service.claim_due(alarm["id"], back) == []


def test_a_second_claim_of_the_same_instant_is_refused(service: AlarmService, home: Home) -> None:
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to=0, at="2026-11-26T12:05:00+00:00"), start)
    due = datetime(2026, 11, 26, 12, 5, tzinfo=UTC)
    # Another daemon that still believes the alarm is pending.
    with sqlite3.connect(home.db_path) as db:
        db.execute("UPDATE alarms SET next_fire_at = ? WHERE id = ?", ("2026-11-26 12:05:00.000000", alarm["id"]))
    first = service.claim_due(alarm["id"], due)
    with sqlite3.connect(home.db_path) as db:
        db.execute("UPDATE alarms SET next_fire_at = ? WHERE id = ?", ("2026-11-26 12:05:00.000000", alarm["id"]))
    second = service.claim_due(alarm["id"], due)
    assert len(first) == 1 and second == []


def test_bad_input_is_refused_and_nothing_is_stored(service: AlarmService, home: Home) -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    service.add_alarm(AlarmInput(to=0, daily="07:00", name="work"), now)
    cases = [
        (AlarmInput(to=7, daily="07:00"), UnknownNumber),
        (AlarmInput(to="NOBODY", daily="07:00"), UnknownNumber),
        (AlarmInput(to=0, daily="25:00"), BadInput),
        (AlarmInput(to=0, cron="61 * * * *"), BadInput),
        (AlarmInput(to=0, daily="07:00", tz="Mars/Olympus"), BadInput),
        (AlarmInput(to=0, at="2026-11-26T11:00:00+00:00"), BadInput),
        (AlarmInput(to=0, at="2028-01-01T07:00:00+00:00"), BadInput),
        (AlarmInput(to=0, daily="07:00", cron="0 7 * * *"), BadInput),
        (AlarmInput(to=0, daily="07:00", name="work"), Conflict),
        (AlarmInput(to=0, daily="07:00", name="x" * 101), BadInput),
    ]
    for given, error in cases:
        with pytest.raises(error):
            service.add_alarm(given, now)
    assert len(service.list_alarms()) == 1
    with pytest.raises(NoSuchAlarm):
        service.remove_alarm("holiday")


def test_a_one_off_within_60s_in_the_past_means_now(service: AlarmService) -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to=0, at="2026-11-26T11:59:30+00:00"), now)
    assert alarm["next_fire_at"] == now.isoformat()
    assert len(service.claim_due(alarm["id"], now)) == 1


def test_settings_resolve_the_default_database(tmp_path: Path) -> None:
    settings = load_settings(None, env={"HOME": str(tmp_path)})
    assert settings.database == tmp_path / ".local" / "state" / "alarmd" / "alarmd.db"
    systemd = load_settings(None, env={"HOME": str(tmp_path), "STATE_DIRECTORY": "/var/lib/alarmd"})
    assert systemd.database == Path("/var/lib/alarmd/alarmd.db")


def test_a_cron_day_field_starting_with_a_star_is_anded_in_next_and_in_firing(service: AlarmService) -> None:
    # cronie's rule: "*/2" counts as unrestricted, so the odd days must also be weekdays.
    start = datetime(2026, 12, 4, 12, tzinfo=UTC)  # Friday the 4th, after 07:00
    alarm = service.add_alarm(AlarmInput(to=0, cron="0 7 */2 * 1-5", tz="UTC"), start)
    coming = [t["at"] for t in service.upcoming(alarm["id"], 3)["fire_times"]]
    assert coming == ["2026-12-07T07:00:00+00:00", "2026-12-09T07:00:00+00:00", "2026-12-11T07:00:00+00:00"]
    run_until(service, alarm["id"], start, datetime(2026, 12, 9, 12, tzinfo=UTC))
    assert rings(service) == [datetime(2026, 12, 7, 7, tzinfo=UTC), datetime(2026, 12, 9, 7, tzinfo=UTC)]


def test_a_one_off_stored_behind_its_next_fire_at_still_ends_with_a_record(service: AlarmService,
                                                                           home: Home) -> None:
    # What an edit before this fix stored: `at` 20 s past, next_fire_at the moment of the edit.
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to=0, at="2026-11-26T12:00:00+00:00"), now)
    with sqlite3.connect(home.db_path) as db:
        db.execute("UPDATE alarms SET at = ? WHERE id = ?", ("2026-11-26 11:59:40.000000", alarm["id"]))
    claimed = service.claim_due(alarm["id"], now)
    assert len(claimed) == 1
    service.fire_occurrence(claimed[0])
    assert rings(service) == [now]
    assert service.get_alarm(alarm["id"])["state"] == "done"


def test_an_edit_to_a_one_off_just_past_is_stored_as_now_like_add(service: AlarmService) -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    alarm = service.add_alarm(AlarmInput(to=0, at="2026-11-27T09:00:00+00:00"), now)
    edited = service.edit_alarm(alarm["id"], {"at": "2026-11-26T11:59:40+00:00"}, now)
    assert edited["at"] == edited["next_fire_at"] == now.isoformat()
    assert len(service.claim_due(alarm["id"], now)) == 1
