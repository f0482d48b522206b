"""The cost guard through real daemons: a 202 is a call that will be placed, manual dials leave
room for wake-ups, and an outage does not use up the hour (issue 12 item 2, issue 13 item 2)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests import postgres
from tests.conftest import API_TOKEN, Daemon, Home, twilio_block, wait_until
from tests.twilio_standin import Answer, TwilioStandin

FAST = {"firstRetrySeconds": 0.2, "maxRetrySeconds": 0.5, "pollSeconds": 0.05, "pollMarginSeconds": 1,
        "intervalSeconds": 1, "requestTimeoutSeconds": 5}


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


pytestmark = pytest.mark.system

# Every test here runs on an SQLite file and on a real PostgreSQL server alike, but for those
# marked sqlite_only: where the guard's write lock, taken by concurrent requests, is not the point.
pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url
home = pytest.fixture(params=postgres.ENGINES)(postgres.on_each_engine)
sqlite_only = pytest.mark.parametrize("home", ["sqlite"], indirect=True)


def rows(home: Home, sql: str) -> list[tuple[Any, ...]]:
    return home.rows(sql)


def dial_all_at_once(ports: list[int], count: int) -> list[httpx.Response]:
    """`count` POST /twilio/MOBILE released together, spread over the daemons' ports."""
    start = threading.Barrier(count)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def dial(port: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            start.wait()
            answer = client.post("/twilio/MOBILE")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=dial, args=(ports[i % len(ports)],)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def assert_exactly(answers: list[httpx.Response], accepted: int) -> None:
    assert sorted(a.status_code for a in answers) == [202] * accepted + [429] * (len(answers) - accepted)
    for refused in (a for a in answers if a.status_code == 429):
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert refused.json()["error"].startswith("The cost guard allows 10 manual dials per hour")


def test_30_concurrent_dials_get_exactly_the_cap_and_a_wake_up_still_rings(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.create_script.extend(Answer(201, None, delay=0.2) for _ in range(10))
    home.write_config(twilio_block(standin), redial=FAST)  # callsPerHour 20, so dialsPerHour 10
    start_daemon()

    answers = dial_all_at_once([home.port], 30)

    assert_exactly(answers, 10)
    wait_until(lambda: rows(home, "SELECT count(*) FROM occurrences WHERE status = 'answered'") == [(10,)])
    assert len(standin.creates()) == 10  # every 202 was a call, nothing counted twice
    assert rows(home, "SELECT count(*) FROM occurrences WHERE reserved_at IS NOT NULL") == [(0,)]
    refused = home.cli("dial", "MOBILE", check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "alarmd.limits.dialsPerHour" in refused.stderr and "10 were placed" in refused.stderr

    home.cli("add", "--at", soon(1), "--to", "MOBILE", "--name", "wake")
    wait_until(lambda: home.cli_json("history", "--alarm", "wake"), timeout=15)
    wait_until(lambda: home.cli_json("history", "--alarm", "wake")[0]["status"] == "answered", timeout=15)
    assert len(standin.creates()) == 11


def test_two_daemons_on_one_database_accept_exactly_the_cap_between_them(
    home: Home, standin: TwilioStandin, start_daemon, daemons, tmp_path
) -> None:
    home.write_config(twilio_block(standin), redial=FAST)
    start_daemon()
    (tmp_path / "b" / "home").mkdir(parents=True)
    other = Home(tmp_path / "b")
    other.write_config(twilio_block(standin), redial=FAST, database=home.database, apiToken=API_TOKEN)
    daemons.append(Daemon(other))

    answers = dial_all_at_once([home.port, other.port], 30)

    assert_exactly(answers, 10)
    wait_until(lambda: rows(home, "SELECT count(*) FROM occurrences WHERE finished_at IS NOT NULL") == [(10,)])
    assert rows(home, "SELECT status, count(*) FROM occurrences GROUP BY status") == [("answered", 10)]
    assert len(standin.creates()) == 10
    logs = daemons[0].log() + daemons[1].log()
    assert "Traceback" not in logs and "database is locked" not in logs


@sqlite_only
def test_an_outage_does_not_use_up_the_hour_and_the_refusal_counts_only_real_calls(
    home: Home, start_daemon
) -> None:
    with TwilioStandin() as down:
        port = down.port  # closed from here on: Twilio's address refuses connections
    home.write_config(twilio_block(down), redial=FAST, limits={"callsPerHour": 3})
    start_daemon()
    home.cli("add", "--at", soon(3), "--to", "MOBILE", "--name", "outage", "--grace", "3")
    wait_until(lambda: rows(home, "SELECT status FROM occurrences WHERE finished_at IS NOT NULL"), timeout=15)
    (failed,) = home.cli_json("history", "--alarm", "outage")
    assert failed["status"] == "failed" and "could not reach Twilio" in failed["detail"], json.dumps(failed)
    assert len(failed["attempts"]) >= 3  # retried through its grace: more than the hour's cap

    with TwilioStandin(port=port) as standin:  # Twilio is back
        home.cli("add", "--at", soon(1), "--to", "MOBILE", "--name", "back")
        wait_until(lambda: (home.cli_json("history", "--alarm", "back") or [{}])[0].get("status") == "answered",
                   timeout=15)
        home.cli("dial", "MOBILE")
        wait_until(lambda: len(standin.creates()) == 2)
        refused = home.cli("dial", "MOBILE", check=False)
    assert refused.returncode == 1
    assert refused.stderr == ("alarmd: The cost guard allows 1 manual dial per hour (alarmd.limits.dialsPerHour), "
                              "keeping the rest of alarmd.limits.callsPerHour for wake-ups, and in the last hour "
                              "1 was placed; try again later.\n")
