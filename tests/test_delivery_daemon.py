"""Delivery through real daemon subprocesses: redial, escalation, kill -9, SIGTERM, two daemons.

Exactly-once is checked on the stand-in's own log: every call it placed (a create that
made a call, whether or not its answer reached alarmd) belongs to exactly one attempt.
These are the real-time proofs, one per behaviour; the decisions themselves (every case of
retry, redial, escalation, cancel) are tested in process on a fake clock in
tests/test_delivery.py and tests/test_pacing.py.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import postgres
from tests.conftest import API_TOKEN, Daemon, Home, twilio_block, wait_until
from tests.twilio_standin import Answer, TwilioStandin, rate_limited

FAST = {"firstRetrySeconds": 0.5, "maxRetrySeconds": 2, "pollSeconds": 0.05, "pollMarginSeconds": 1,
        "intervalSeconds": 1, "requestTimeoutSeconds": 10}


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def configure(home: Home, standin: TwilioStandin, **redial: Any) -> None:
    home.write_config(twilio_block(standin), redial=FAST | redial)


pytestmark = pytest.mark.system

# Every test here runs on an SQLite file and on a real PostgreSQL server alike, but for those
# marked sqlite_only: where neither the claim nor the lease is what the test is about. Of the
# kill -9 cases, the request in flight runs on both: a restart's takeover on PostgreSQL.
pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url
home = pytest.fixture(params=postgres.ENGINES)(postgres.on_each_engine)
sqlite_only = pytest.mark.parametrize("home", ["sqlite"], indirect=True)


def rows(home: Home, sql: str) -> list[tuple[Any, ...]]:
    return home.rows(sql)


def finished(home: Home) -> list[tuple[Any, ...]]:
    return rows(home, "SELECT status, detail FROM occurrences WHERE finished_at IS NOT NULL")


def assert_each_call_placed_once(home: Home, standin: TwilioStandin) -> list[tuple[Any, ...]]:
    attempts = rows(home, "SELECT sid, status FROM attempts ORDER BY id")
    sids = [sid for sid, _ in attempts if sid]
    assert sorted(sids) == sorted(r.sid for r in standin.placed())
    assert len(set(sids)) == len(sids)
    return attempts


def kill(daemon: Daemon) -> None:
    code, _ = daemon.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL


@sqlite_only
def test_it_redials_then_escalates_through_the_daemon_and_cancels_a_call_past_its_ring_time(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    # Three calls go unanswered; the fallback's second never says more than "ringing".
    standin.create_script.extend([Answer(statuses=["queued", "ringing", "no-answer"]) for _ in range(3)]
                                 + [Answer(statuses=["ringing"])])
    configure(home, standin)
    start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE", "--name", "train", "--attempts", "2",
             "--interval", "1s", "--then", "OFFICE", "--ring", "5s", "--say", "Time for the 7:10 train")

    creates = standin.wait_for_creates(4, timeout=20)
    assert [r.field("To") for r in creates] == ["+447700900123"] * 2 + ["+441122334455"] * 2
    assert {r.field("Timeout") for r in creates} == {"5"}
    assert {r.field("Twiml") for r in creates} == {"<Response><Say>Time for the 7:10 train</Say></Response>"}
    assert creates[1].at - creates[0].at >= 1.0  # the interval between calls to one number
    wait_until(lambda: finished(home), timeout=20)
    (call,) = home.cli_json("history")
    assert call["status"] == "unanswered"
    assert [a["status"] for a in call["attempts"]] == ["no-answer"] * 3 + ["canceled"]
    assert call["attempts"][3]["error_message"] == "Twilio reported no final status within 5 s of ringing"
    (cancel,) = standin.cancels()
    assert cancel.field("Status") == "canceled" and cancel.path.endswith(f"/Calls/{creates[3].sid}.json")
    # Ring time and margin (5 + 1 s) after the call was first seen ringing, not sooner.
    assert cancel.at - creates[3].at >= 5 + 1
    assert all(a["sid"].startswith("CA") for a in call["attempts"])
    assert call["attempts"][3]["number"] != "+44 1122 334455"  # OFFICE is secret: masked
    (alarm,) = home.cli_json("list")
    assert (alarm["redial_attempts"], alarm["redial_interval_seconds"], alarm["ring_seconds"]) == (2, 1, 5)
    assert alarm["then"]["name"] == "OFFICE" and alarm["say"] == "Time for the 7:10 train"
    # Room for a fifth, wrong, call: the interval (1 s) and a poll would bring it by then.
    time.sleep(1.5)
    assert len(standin.creates()) == 4


@sqlite_only
def test_bad_delivery_options_on_the_command_line(home: Home, standin: TwilioStandin, start_daemon) -> None:
    configure(home, standin)
    start_daemon()
    for args, words in ((["--interval", "soon"], "'soon' is not a duration"),
                        (["--then", "NOBODY"], "phone number is named 'NOBODY'"),
                        (["--say", "x" * 4100], "say")):
        result = home.cli("add", "--at", soon(60), "--to", "0", *args, check=False)
        assert result.returncode == 2, result.stderr
        assert words.lower() in result.stderr.lower() and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
    assert home.cli_json("list") == []


@sqlite_only
def test_kill_9_before_the_request_dials_once_after_restart(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.create_script.append(rate_limited())  # refused for certain: nothing placed
    # The next attempt row is written 3 s ahead of the retry, at 3 s: the kill at 0.3 s comes first.
    configure(home, standin, firstRetrySeconds=6, maxRetrySeconds=6)
    daemon = start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE")
    standin.wait_for_creates(1)
    time.sleep(0.3)
    kill(daemon)  # during the backoff, before the retry's request
    # The exact moment after the attempt row is written and before its POST, as kill -9
    # leaves it: a "requesting" attempt with no SID.
    home.rows("INSERT INTO attempts (occurrence_id, number, dialer, started_at, status, permanent) "
              "SELECT id, '+447700900123', 'twilio', ?, 'requesting', FALSE FROM occurrences", datetime.now(UTC))

    start_daemon()
    wait_until(lambda: finished(home), timeout=20)
    assert len(standin.creates()) == 2 and len(standin.placed()) == 1
    assert len(standin.lists()) == 1  # the requesting attempt was settled before dialling
    attempts = assert_each_call_placed_once(home, standin)
    assert [status for _, status in attempts] == ["error", "not-sent", "completed"]
    assert finished(home) == [("answered", None)]


def test_kill_9_while_the_request_is_in_flight_does_not_ring_twice(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.create_script.append(Answer(201, None, delay=4))  # Twilio placed it; the answer is slow
    configure(home, standin)
    daemon = start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE")
    standin.wait_for_creates(1)
    kill(daemon)  # the SID never reaches the database

    start_daemon()
    wait_until(lambda: finished(home), timeout=20)
    time.sleep(0.5)  # room for a second request, which would follow the settling read at once
    assert len(standin.creates()) == 1
    assert_each_call_placed_once(home, standin)
    assert finished(home) == [("answered", None)]


@sqlite_only
def test_kill_9_after_the_sid_is_stored_follows_the_same_call(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.status_script = ["queued"] * 40 + ["completed"]
    configure(home, standin)
    daemon = start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE")
    wait_until(lambda: rows(home, "SELECT sid FROM attempts WHERE sid IS NOT NULL"), timeout=20)
    kill(daemon)
    fetched = len(standin.fetches())

    start_daemon()
    wait_until(lambda: finished(home), timeout=20)
    assert len(standin.creates()) == 1
    assert len(standin.fetches()) > fetched  # the restart went on following it
    assert_each_call_placed_once(home, standin)
    assert finished(home) == [("answered", None)]


@sqlite_only
def test_kill_9_during_polling_redials_only_for_the_outcome(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.create_script.extend([Answer(statuses=["ringing"] * 60 + ["no-answer"]),
                                  Answer(statuses=["ringing", "completed"])])
    configure(home, standin, attempts=3)
    daemon = start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE")
    assert standin.wait_for(lambda requests: sum(r.method == "GET" for r in requests) >= 5)
    kill(daemon)

    start_daemon()
    wait_until(lambda: finished(home), timeout=20)
    assert len(standin.creates()) == 2  # the no-answer called for one redial, no more
    attempts = assert_each_call_placed_once(home, standin)
    assert [status for _, status in attempts] == ["no-answer", "completed"]
    assert finished(home) == [("answered", None)]


def test_sigterm_during_a_redial_wait_stops_fast_and_the_restart_carries_on(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.status_script = ["no-answer"]
    configure(home, standin, attempts=2, intervalSeconds=3)
    daemon = start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE")
    wait_until(lambda: rows(home, "SELECT 1 FROM attempts WHERE status = 'no-answer'"), timeout=20)

    code, took = daemon.stop()
    assert (code, took < 5) == (0, True)
    # Left open and free to take over at once; the redial prepared ahead was never sent, so
    # it is not kept as an attempt.
    ((status, lease),) = rows(home, "SELECT status, lease_until FROM occurrences")
    assert status in ("accepted", "dialling") and lease is None
    assert rows(home, "SELECT status FROM attempts") == [("no-answer",)]
    start_daemon()
    wait_until(lambda: finished(home), timeout=20)
    assert len(standin.creates()) == 2
    assert_each_call_placed_once(home, standin)
    assert finished(home)[0][0] == "unanswered"


@sqlite_only
def test_sigterm_while_twilio_hangs_exits_within_5s_and_never_rings_twice(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.create_script.append(Answer(201, None, delay=8))
    configure(home, standin)
    daemon = start_daemon()
    home.cli("add", "--at", soon(1), "--to", "MOBILE")
    standin.wait_for_creates(1)

    code, took = daemon.stop()
    assert (code, took < 5) == (0, True)
    start_daemon()
    wait_until(lambda: finished(home), timeout=20)
    assert len(standin.creates()) == 1
    assert_each_call_placed_once(home, standin)


def test_two_daemons_on_one_database_ring_each_occurrence_once(
    home: Home, standin: TwilioStandin, start_daemon, daemons, tmp_path
) -> None:
    standin.create_script.extend(Answer(201, None, delay=0.3) for _ in range(6))
    configure(home, standin)
    start_daemon()
    for i in range(6):
        home.cli("add", "--at", soon(6 + i * 0.2), "--to", "MOBILE", "--name", f"a{i}")
    (tmp_path / "b" / "home").mkdir(parents=True)
    other = Home(tmp_path / "b")
    other.write_config(twilio_block(standin), redial=FAST, database=home.database, apiToken=API_TOKEN)
    daemons.append(Daemon(other))  # loads the same six alarms at its start

    standin.wait_for_creates(6, timeout=20)
    wait_until(lambda: len(finished(home)) == 6, timeout=20)
    time.sleep(1.5)  # room for a second daemon's duplicate call, which would come at the due instant
    assert len(standin.creates()) == 6
    assert rows(home, "SELECT count(*) FROM attempts") == [(6,)]
    assert_each_call_placed_once(home, standin)
    logs = daemons[0].log() + daemons[1].log()
    assert "Traceback" not in logs and "database is locked" not in logs
