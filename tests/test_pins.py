"""An alarm keeps calling the person it was set for (issue 12 item 3), in-process.

Each test sets alarms under one config, then reads another config over the same SQLite
file, as a restart after an edit does, runs what the daemon runs when it reads its
settings (check_numbers), and rings with the dry-run dialer, whose attempts record the
number each call would have gone to. tests/test_pins_daemon.py goes through the real
daemon, CLI and Twilio stand-in.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alarmd import clock
from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.calls.dialers.dryrun import DryRunDialer
from alarmd.config.settings import load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.errors import ConfigError
from alarmd.phonebook import mask
from alarmd.store.db import session_factory
from tests.conftest import Home, twilio_block

MOBILE = {"name": "MOBILE", "number": "+44 7700 900123"}
OFFICE = {"name": "OFFICE", "number": "+44 1122 334455", "secret": True}
NEW = {"name": "NEW", "number": "+44 7700 900777"}
MOBILE_E164, OFFICE_E164, NEW_E164 = "+447700900123", "+441122334455", "+447700900777"


@pytest.fixture
def start(home: Home) -> Iterator[Any]:
    """start(numbers) -> a service over the same database, as a daemon started with that config."""
    engines = []

    def make(numbers: list[dict[str, Any]], **alarmd: Any) -> AlarmService:
        home.migrated().write_config(twilio_block(None, phoneNumbers=numbers), **alarmd)
        settings = load_settings(home.config_path, env={"HOME": str(home.root / "home")})
        engine = open_database(settings)
        engines.append(engine)
        service = AlarmService(session_factory(engine), DryRunDialer(), settings, phonebook_of(settings))
        service.check_numbers()
        return service

    yield make
    for engine in engines:
        engine.dispose()


EVERY_MINUTE = "* * * * *"


def ring(service: AlarmService, alarm_id: int) -> dict[str, Any]:
    """Make an every-minute alarm due at a minute just past (a later one each time, inside
    its grace), claim it as of that minute and deliver it; its newest history entry."""
    rung = len(service.history(alarm_ref=alarm_id))
    instant = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=5 - rung)
    with service.sessions.begin() as session:
        session.connection().exec_driver_sql(
            "UPDATE alarms SET next_fire_at = ? WHERE id = ?",
            (instant.astimezone(UTC).replace(tzinfo=None).isoformat(" "), alarm_id))
    for occurrence_id in service.claim_due(alarm_id, instant):
        service.fire_occurrence(occurrence_id)
    return service.history(alarm_ref=alarm_id, limit=1)[0]


def called(entry: dict[str, Any]) -> list[tuple[str | None, bool]]:
    """(name, secret) of every attempt; digits are compared through the database below."""
    return [(a["number_name"], "*" in a["number"]) for a in entry["attempts"]]


def numbers_dialled(home: Home) -> list[str]:
    with sqlite3.connect(home.db_path) as db:
        return [row[0] for row in db.execute("SELECT number FROM attempts ORDER BY id")]


@pytest.mark.system
def test_two_entries_whose_names_differ_only_in_case_are_refused(home: Home) -> None:
    home.write_config(twilio_block(None, phoneNumbers=[MOBILE, OFFICE, {"name": "mobile", "number": NEW_E164}]))
    with pytest.raises(ConfigError) as caught:
        load_settings(home.config_path, env={"HOME": str(home.root / "home")})
    assert str(caught.value) == (
        "twilio.phoneNumbers[2].name: 'mobile' is the name of twilio.phoneNumbers[0] too (names are matched "
        "in any case); give each entry a name of its own.")
    for verb in (("config", "check"), ("run",)):
        result = home.cli(*verb, check=False)
        assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
        assert "'mobile' is the name of twilio.phoneNumbers[0] too" in result.stderr


def test_an_alarm_set_by_index_keeps_its_person_when_a_number_is_inserted_above(start, home: Home) -> None:
    before = start([MOBILE, OFFICE])
    alarm = before.add_alarm(AlarmInput(to=1, then=0, cron=EVERY_MINUTE), clock.now())
    assert (alarm["to"]["name"], alarm["then"]["name"]) == ("OFFICE", "MOBILE")

    after = start([NEW, MOBILE, OFFICE])
    shown = after.get_alarm(alarm["id"])
    assert (shown["to"]["name"], shown["to"]["index"], shown["then"]["name"], shown["then"]["index"]) == (
        "OFFICE", 2, "MOBILE", 1)
    assert shown["broken"] is None
    entry = ring(after, alarm["id"])
    assert called(entry) == [("OFFICE", True)]
    assert numbers_dialled(home) == [OFFICE_E164]
    # NMO's /twilio/x still means "index x now".
    after.dial_now(0, clock.now())
    after.wait_idle(5)
    assert after.wait_idle(5) and numbers_dialled(home)[-1] == NEW_E164


def test_an_occurrence_claimed_before_a_reorder_calls_whom_it_was_claimed_for(start, home: Home) -> None:
    before = start([MOBILE, OFFICE])
    now = clock.now()
    alarm = before.add_alarm(AlarmInput(to=0, at=now.isoformat()), now)
    (occurrence_id,) = before.claim_due(alarm["id"], now + timedelta(milliseconds=1))
    with sqlite3.connect(home.db_path) as db:  # as a daemon that stopped before dialling leaves it
        db.execute("UPDATE occurrences SET owner = NULL, lease_until = NULL")

    after = start([OFFICE, MOBILE])
    after.fire_occurrence(occurrence_id)

    assert numbers_dialled(home) == [MOBILE_E164]


def test_a_new_number_for_the_same_name_is_called_at_the_new_number(start, home: Home) -> None:
    before = start([MOBILE, OFFICE])
    alarm = before.add_alarm(AlarmInput(to="MOBILE", cron=EVERY_MINUTE), clock.now())

    after = start([{"name": "MOBILE", "number": NEW_E164}, OFFICE])

    assert after.get_alarm(alarm["id"])["to"]["number"] == "+44 7700 900777"
    ring(after, alarm["id"])
    assert numbers_dialled(home) == [NEW_E164]


def test_a_renamed_entry_is_followed_by_its_number_and_the_log_says_so_once(
    start, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    before = start([MOBILE, OFFICE])
    alarm = before.add_alarm(AlarmInput(to="MOBILE", cron=EVERY_MINUTE, name="wake"), clock.now())

    with caplog.at_level(logging.INFO, logger="alarmd"):
        after = start([{"name": "CELL", "number": MOBILE["number"]}, OFFICE])
        start([{"name": "CELL", "number": MOBILE["number"]}, OFFICE])  # and restarted again

    said = [r.getMessage() for r in caplog.records if "CELL" in r.getMessage()]
    # The keepalive (alarmd.keepalive.number 0, pinned to MOBILE) follows it too.
    assert said == ["twilio.phoneNumbers: MOBILE is gone, but its number is now CELL's; "
                    "alarm wake (#1) and the keepalive call CELL now."]
    assert after.get_alarm(alarm["id"])["to"]["name"] == "CELL"
    assert called(ring(after, alarm["id"])) == [("CELL", False)]
    assert numbers_dialled(home) == [MOBILE_E164]


def test_an_alarm_whose_number_left_the_config_is_flagged_fails_calling_nobody_and_edit_repairs_it(
    start, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    before = start([MOBILE, OFFICE])
    alarm = before.add_alarm(AlarmInput(to="OFFICE", cron=EVERY_MINUTE, name="office"), clock.now())

    with caplog.at_level(logging.WARNING, logger="alarmd"):
        after = start([MOBILE])

    sentence = "alarm office (#1) calls OFFICE, which is not configured: it will call nobody until " \
               "`alarmd edit 1 --to NAME`."
    assert after.check_numbers() == [sentence]
    assert sentence in [r.getMessage() for r in caplog.records]
    shown = after.get_alarm("office")
    assert shown["broken"] == "OFFICE is not configured"
    assert shown["to"] == {"ref": "OFFICE", "index": None, "name": "OFFICE", "number": mask(OFFICE_E164)}
    assert after.list_alarms()[0]["broken"] == "OFFICE is not configured"
    assert after.status()["warnings"] == [sentence]

    entry = ring(after, alarm["id"])
    assert (entry["status"], entry["detail"], entry["attempts"]) == ("failed", "OFFICE is not configured", [])
    assert numbers_dialled(home) == []

    repaired = after.edit_alarm("office", {"to": "MOBILE"}, clock.now())
    assert (repaired["broken"], repaired["to"]["name"]) == (None, "MOBILE")
    assert after.status()["warnings"] == []
    assert called(ring(after, alarm["id"])) == [("MOBILE", False)]


def test_a_fallback_that_left_the_config_is_a_warning_and_the_alarm_still_rings(start, home: Home) -> None:
    before = start([MOBILE, OFFICE])
    alarm = before.add_alarm(AlarmInput(to="MOBILE", then="OFFICE", cron=EVERY_MINUTE), clock.now())

    after = start([MOBILE])

    assert after.get_alarm(alarm["id"])["broken"] is None
    assert after.status()["warnings"] == [
        "alarm #1 falls back to OFFICE, which is not configured: it will not be rung."]
    assert called(ring(after, alarm["id"])) == [("MOBILE", False)]


def test_alarms_stored_before_pins_are_pinned_at_the_first_start_and_the_log_says_so_once(
    start, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    start([MOBILE, OFFICE])
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(home.db_path) as db:  # as revision 0002 leaves a row from before it
        db.execute("INSERT INTO alarms (kind, cron, days, tz, to_ref, then_ref, grace_seconds, paused, "
                   "skip_instants, next_fire_at, created_at, updated_at) VALUES ('cron', '* * * * *', NULL, 'UTC', "
                   "'1', '0', 600, 0, '[]', ?, ?, ?)", (now, now, now))

    with caplog.at_level(logging.INFO, logger="alarmd"):
        after = start([MOBILE, OFFICE])
        again = start([NEW, MOBILE, OFFICE])

    said = [r.getMessage() for r in caplog.records if "pinned" in r.getMessage()]
    assert said == ["pinned 1 alarm stored before alarmd recorded whom alarms call, from twilio.phoneNumbers "
                    "as it is now: #1 calls OFFICE, falling back to MOBILE."]
    assert after.get_alarm(1)["to"]["name"] == "OFFICE"
    assert called(ring(again, 1)) == [("OFFICE", True)]


def test_the_keepalive_keeps_calling_the_person_it_was_pinned_to(start, home: Home) -> None:
    before = start([MOBILE, OFFICE], keepalive={"number": 0})
    before.record_first_start(clock.now() - timedelta(days=40))

    after = start([NEW, MOBILE, OFFICE], keepalive={"number": 0})
    occurrence_id = after.claim_keepalive(clock.now())
    assert occurrence_id is not None
    after.fire_occurrence(occurrence_id)

    assert numbers_dialled(home) == [MOBILE_E164]


def test_a_keepalive_whose_person_left_the_config_calls_the_configured_number_and_says_so(
    start, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    before = start([MOBILE, OFFICE], keepalive={"number": 0})
    before.record_first_start(clock.now() - timedelta(days=40))

    # Its number is the config's choice, not a person's wake-up: with MOBILE gone it
    # calls what alarmd.keepalive.number means now, rather than nobody.
    with caplog.at_level(logging.WARNING, logger="alarmd"):
        after = start([NEW, OFFICE], keepalive={"number": 0})
    assert [r.getMessage() for r in caplog.records if "keepalive" in r.getMessage()] == [
        "the keepalive called MOBILE, which is not configured any more; it calls NEW "
        "(alarmd.keepalive.number 0) from now on."]
    occurrence_id = after.claim_keepalive(clock.now())
    assert occurrence_id is not None
    after.fire_occurrence(occurrence_id)
    assert numbers_dialled(home) == [NEW_E164]


def test_a_call_to_a_secret_number_stays_masked_after_the_number_leaves_the_config(start) -> None:
    before = start([MOBILE, OFFICE])
    alarm = before.add_alarm(AlarmInput(to="OFFICE", cron=EVERY_MINUTE), clock.now())
    ring(before, alarm["id"])

    (call,) = start([MOBILE]).history()
    assert call["attempts"][0]["number"] == call["to"]["number"] == mask(OFFICE_E164)
    # Back, but no longer marked secret: the call was made to a secret number, and stays masked.
    (call,) = start([MOBILE, {"name": "OFFICE", "number": OFFICE["number"]}]).history()
    assert call["attempts"][0]["number"] == mask(OFFICE_E164)


def test_an_alarm_from_before_pins_whose_number_is_already_gone_reads_like_any_broken_alarm(
    start, home: Home
) -> None:
    start([MOBILE, OFFICE])
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(home.db_path) as db:
        for ref in ("5", "HOME"):
            db.execute("INSERT INTO alarms (kind, cron, tz, to_ref, grace_seconds, paused, skip_instants, "
                       "next_fire_at, created_at, updated_at) VALUES ('cron', '* * * * *', 'UTC', ?, 600, 0, "
                       "'[]', ?, ?, ?)", (ref, now, now, now))

    after = start([MOBILE, OFFICE])

    assert [after.get_alarm(i)["broken"] for i in (1, 2)] == ["phone number 5 is not configured",
                                                              "HOME is not configured"]
    assert after.check_numbers() == [
        "alarm #1 calls phone number 5, which is not configured: it will call nobody until "
        "`alarmd edit 1 --to NAME`.",
        "alarm #2 calls HOME, which is not configured: it will call nobody until `alarmd edit 2 --to NAME`."]
    assert ring(after, 2)["detail"] == "HOME is not configured"
