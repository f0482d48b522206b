"""The whole path through real processes.

CLI -> daemon API -> SQLite -> scheduler -> twilio SDK -> the local Twilio stand-in.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests import postgres
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Home, twilio_block, wait_until
from tests.twilio_standin import Answer, TwilioStandin, twilio_error

pytestmark = pytest.mark.system

# Where the database decides the outcome (claims made at a restart, missed rings) a test runs
# on an SQLite file and on a real PostgreSQL server alike; the rest prove the daemon's path,
# which is the same on both, on SQLite (test_nodes.py rings and removes on both engines).
pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url
home = pytest.fixture(params=postgres.ENGINES)(postgres.on_each_engine)
on_sqlite = pytest.mark.parametrize("home", ["sqlite"], indirect=True)


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@on_sqlite
def test_it_rings_a_one_off_alarm_through_twilio(home: Home, standin: TwilioStandin, start_daemon) -> None:
    home.write_config(twilio_block(standin))
    start_daemon()
    added = home.cli("add", "--at", soon(2), "--to", "MOBILE", "--name", "wake")
    assert "Added alarm 1" in added.stdout

    creates = standin.wait_for_creates(1, timeout=10)
    time.sleep(1.5)  # long enough for a second, wrong, call to show up
    assert len(standin.creates()) == 1
    request = creates[0]
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert request.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.field("To") == "+447700900123"
    assert request.field("From") == "+14155550100"
    assert request.field("Url", ) is not None and request.field("Url").startswith("http")

    calls = home.cli_json("history")
    assert len(calls) == 1
    attempt = calls[0]["attempts"][0]
    # Accepted; answered once its status is read (the stand-in completes every call).
    assert calls[0]["status"] in ("accepted", "answered")
    assert attempt["sid"].startswith("CA") and len(attempt["sid"]) == 34
    assert calls[0]["alarm_name"] == "wake"


def test_alarms_survive_a_restart_and_missed_ones_are_handled_by_grace(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    home.write_config(twilio_block(standin))
    first = start_daemon()
    home.cli("add", "--daily", "07:00", "--days", "mon-fri", "--to", "0", "--name", "weekdays")
    # Due in under 3 s (scheduler.CLAIM_AHEAD), each is claimed as soon as it is added; the
    # daemon must be stopped before they are due, and 2.9 s rather than 2 gives the adds and
    # the stop more room on a loaded machine.
    home.cli("add", "--at", soon(2.9), "--to", "MOBILE", "--name", "inside-grace", "--grace", "600")
    last_due = soon(2.9)
    home.cli("add", "--at", last_due, "--to", "MOBILE", "--name", "outside-grace", "--grace", "0")
    code, _ = first.stop()
    assert code == 0
    # Both one-offs fall due while the daemon is down (the second is due after the first).
    wait_until(lambda: datetime.now(UTC) > datetime.fromisoformat(last_due))
    assert standin.creates() == []

    start_daemon()
    creates = standin.wait_for_creates(1, timeout=10)
    time.sleep(1.0)
    assert len(standin.creates()) == 1
    assert creates[0].field("To") == "+447700900123"

    names = {a["name"]: a for a in home.cli_json("list")}
    assert names["weekdays"]["state"] == "active"
    assert names["weekdays"]["next_fire_local"].endswith(("+00:00", "+01:00"))
    by_alarm = {c["alarm_name"]: c for c in home.cli_json("history")}
    assert by_alarm["inside-grace"]["status"] in ("accepted", "answered")
    assert by_alarm["inside-grace"]["attempts"][0]["sid"].startswith("CA")
    assert by_alarm["outside-grace"]["status"] == "missed"
    assert "past its grace" in by_alarm["outside-grace"]["detail"]
    assert by_alarm["outside-grace"]["attempts"] == []


@on_sqlite
def test_a_twilio_error_is_recorded_and_the_next_alarm_still_rings(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.create_script.append(twilio_error(
        21219, "The number +447700900123 is unverified. Trial accounts may only call verified numbers."))
    home.write_config(twilio_block(standin))
    start_daemon()
    home.cli("add", "--at", soon(1.5), "--to", "MOBILE", "--name", "first")
    home.cli("add", "--at", soon(3), "--to", "MOBILE", "--name", "second")
    standin.wait_for_creates(2, timeout=10)

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        by_alarm = {c["alarm_name"]: c for c in home.cli_json("history")}
        if by_alarm.get("second", {}).get("status") == "answered":
            break
        time.sleep(0.2)
    failed = by_alarm["first"]["attempts"][0]
    assert by_alarm["first"]["status"] == "failed"
    assert failed["error_code"] == 21219
    assert failed["error_message"] == (
        "Twilio refused: +447700900123 is not a verified caller ID on this trial account (21219)")
    assert failed["permanent"] is True
    assert by_alarm["second"]["attempts"][0]["sid"].startswith("CA")


@on_sqlite
def test_sigterm_stops_within_5s_and_finishes_the_call_in_flight(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.create_script.append(Answer(201, None, delay=1.5))  # Twilio is slow to answer
    home.write_config(twilio_block(standin))
    daemon = start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE")
    standin.wait_for_creates(1, timeout=10)

    code, took = daemon.stop()  # SIGTERM while the request is in flight
    assert code == 0
    assert took < 5
    rows = home.rows("SELECT o.status, a.sid FROM occurrences o JOIN attempts a ON a.occurrence_id = o.id")
    assert len(rows) == 1
    assert rows[0][0] == "accepted" and rows[0][1].startswith("CA")


@on_sqlite
def test_sigint_stops_an_idle_daemon_with_exit_0(home: Home, start_daemon) -> None:
    import signal

    home.write_config()
    daemon = start_daemon()
    code, took = daemon.stop(signal.SIGINT)
    assert (code, took < 5) == (0, True)


@on_sqlite
def test_the_cli_says_so_when_no_daemon_runs(home: Home) -> None:
    home.write_config()
    result = home.cli("list", check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "not running" in result.stderr and "alarmd run" in result.stderr


@on_sqlite
def test_the_daemon_answers_many_requests_while_ringing(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    """The API stays responsive while calls are being placed (they run off its thread)."""
    standin.create_script.extend(Answer(201, None, delay=1.0) for _ in range(3))
    home.write_config(twilio_block(standin))
    start_daemon()
    for i in range(3):
        home.cli("add", "--at", soon(1), "--to", "0", "--name", f"a{i}")
    standin.wait_for_creates(1)
    errors: list[str] = []

    def listing() -> None:
        result = home.cli("list", "--json", check=False)
        if result.returncode != 0:
            errors.append(result.stderr)

    threads = [threading.Thread(target=listing) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(standin.wait_for_creates(3)) == 3


@on_sqlite
def test_an_alarm_removed_in_its_last_seconds_does_not_ring(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    """Calls are claimed and prepared 3 s ahead; a remove in those seconds still stops the call."""
    home.write_config(twilio_block(standin))
    start_daemon()
    due = soon(2.5)
    home.cli("add", "--at", due, "--to", "MOBILE", "--name", "cancelled")
    home.cli("remove", "cancelled")
    # A wrong call would be requested at the due instant; 1.5 s past it leaves a loaded
    # machine room to show one.
    wait_until(lambda: datetime.now(UTC) > datetime.fromisoformat(due) + timedelta(seconds=1.5))
    assert standin.creates() == []
    calls = home.cli_json("history")
    # Due in under 3 s, it was claimed as soon as it was added: the record says why it did not ring.
    assert [(c["alarm_name"], c["status"], c["detail"]) for c in calls] == [
        ("cancelled", "skipped", "the alarm was removed")]
    assert calls[0]["attempts"] == []
