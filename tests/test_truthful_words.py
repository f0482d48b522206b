"""Small lies (issue 13 item 11, the parts about redials and removed alarms):

- `edit --to OFFICE` during redials said "calling OFFICE" while the redials still went to
  MOBILE: the ring under way keeps its person, and the answer says so;
- `pause` during redials recorded `skipped paused` although calls had been placed;
- removed alarms showed only as "alarm" in `history`, and `history --alarm NAME` could
  not find them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alarmd import clock
from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.calls import callplan
from alarmd.store.models import Attempt
from tests.cli_harness import LiveApp, app  # noqa: F401  (a fixture)
from tests.conftest import Home, twilio_block, wait_until
from tests.fakeclock import FakeClock
from tests.inprocess import service_maker
from tests.twilio_standin import TwilioStandin

FAST = {"pollSeconds": 0.05, "pollMarginSeconds": 0, "intervalSeconds": 3}


# Fake seconds into a delivery: its first call is over (polled after 0.05 s), its redial,
# intervalSeconds (3 s) later, not yet sent.
BETWEEN_CALLS = 1.5


@pytest.fixture
def make_service(home: Home, standin: TwilioStandin, fake: FakeClock) -> Iterator[Callable[..., AlarmService]]:
    yield from service_maker(home, standin, FAST)


def rows(home: Home, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home.db_path) as db:
        return db.execute(sql).fetchall()


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.system
def test_edit_to_during_redials_says_the_ring_under_way_keeps_its_person(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.status_script = ["no-answer"]
    home.write_config(twilio_block(standin), redial=FAST | {"attempts": 2})
    start_daemon()
    home.cli("add", "--to", "MOBILE", "--at", soon(1), "--name", "wake")
    standin.wait_for_creates(1, timeout=15)

    edited = home.cli("edit", "wake", "--to", "OFFICE").stdout

    assert edited.splitlines()[1:] == [
        "The ring under way keeps calling MOBILE (+44 7700 900123): its redials go there; "
        "OFFICE (+44 1** *** *455) is called from the next ring on, and this alarm has none."]
    wait_until(lambda: rows(home, "SELECT status FROM occurrences") == [("unanswered",)], timeout=20)
    assert [r.field("To") for r in standin.creates()] == ["+447700900123"] * 2


def test_edit_to_of_a_recurring_alarm_during_redials_names_both(make_service, standin, fake) -> None:
    standin.status_script = ["no-answer"]
    service = make_service(attempts=2)
    alarm, occurrence_id = claimed_now(service, "* * * * *")
    edited: list[dict[str, Any]] = []
    fake.at(BETWEEN_CALLS, lambda: edited.append(service.edit_alarm(alarm["id"], {"to": "OFFICE"}, clock.now())))
    service.fire_occurrence(occurrence_id)

    (answer,) = edited
    assert answer["notes"] == [
        "The ring under way keeps calling MOBILE (+44 7700 900123): its redials go there; "
        "OFFICE (+44 1** *** *455) is called from the next ring on."]
    assert [r.field("To") for r in standin.creates()] == ["+447700900123"] * 2


def claimed_now(service: AlarmService, cron: str) -> tuple[dict[str, Any], int]:
    """An every-minute alarm claimed as of the minute just begun (its ring under way)."""
    instant = clock.now().replace(second=0, microsecond=0)
    alarm = service.add_alarm(AlarmInput(to="MOBILE", cron=cron), instant - timedelta(seconds=1))
    (occurrence_id,) = service.claim_due(alarm["id"], instant)
    return alarm, occurrence_id


@pytest.mark.parametrize(("stop", "words"), [
    (lambda service, ref: service.pause_alarm(ref, None, clock.now()), "the alarm was paused"),
    (lambda service, ref: service.remove_alarm(ref), "the alarm was removed"),
], ids=["pause", "remove"])
def test_stopping_an_alarm_during_redials_records_the_calls_that_were_placed(
    make_service, home: Home, standin: TwilioStandin, fake: FakeClock, stop: Any, words: str
) -> None:
    standin.status_script = ["no-answer"]
    service = make_service(attempts=3)
    alarm, occurrence_id = claimed_now(service, "* * * * *")
    seen: list[list[str]] = []

    def stop_it() -> None:
        # The first call went unanswered; the redial's row may be written ahead already.
        seen.append([a["status"] for a in service.history()[0]["attempts"]][:1])
        stop(service, alarm["id"])

    fake.at(BETWEEN_CALLS, stop_it)
    service.fire_occurrence(occurrence_id)
    (status, detail), = rows(home, "SELECT status, detail FROM occurrences")

    assert seen == [["no-answer"]]
    assert len(standin.creates()) == 1
    assert (status, detail) == ("unanswered", f"nobody answered 1 call (no-answer); no more calls: {words}")


@pytest.mark.parametrize(("attempts", "done"), [
    ([], ("skipped", "paused")),
    # Only failed requests: nothing rang, so nothing was placed to report.
    ([Attempt(sid=None, status="error", error_message="Twilio failed")], ("skipped", "paused")),
    ([Attempt(sid="CA1", status="busy"), Attempt(sid="CA2", status="no-answer")],
     ("unanswered", "nobody answered 2 calls (busy, no-answer); no more calls: the alarm was paused")),
])
def test_a_ring_called_off_is_skipped_only_if_no_call_went_out(attempts: list[Attempt], done: Any) -> None:
    assert callplan.called_off(None, attempts, "paused") == callplan.Done(*done)


@pytest.fixture
def rung(app: LiveApp) -> Iterator[LiveApp]:  # noqa: F811
    """Two alarms, one named, each rung once (dry-run), then both removed."""
    for name in ("wake", None):
        now = clock.now()
        alarm = app.service.add_alarm(AlarmInput(to="MOBILE", at=now.isoformat(), name=name), now)
        for occurrence_id in app.service.claim_due(alarm["id"], clock.now()):
            app.service.fire_occurrence(occurrence_id)
        app.service.remove_alarm(alarm["id"])
    yield app


@pytest.mark.system  # tests.cli_harness serves the API with uvicorn on a port
def test_removed_alarms_show_by_name_and_id_in_history_and_are_found_by_either(rung: LiveApp) -> None:
    listed = rung.cli("history")
    assert listed.exit_code == 0
    rows = listed.output.splitlines()[1:]
    assert "#2 (removed)" in rows[0] and "wake (#1, removed)" in rows[1]

    calls = rung.service.history()
    assert [(c["alarm_id"], c["alarm_name"], c["alarm_removed"]) for c in calls] == [
        (2, None, True), (1, "wake", True)]
    for ref in ("wake", "WAKE", "1"):
        found = rung.cli("history", "--alarm", ref, "--json")
        assert found.exit_code == 0, found.output
        assert [c["alarm_name"] for c in __import__("json").loads(found.output)] == ["wake"]
    missing = rung.cli("history", "--alarm", "nap")
    assert missing.exit_code == 2 and "no alarm has the id or name 'nap'" in missing.output.lower()
