"""The keepalive through real processes: `alarmd db upgrade`, a database prepared with
SQL so the keepalive is already due, `alarmd run`, the CLI, the local Twilio stand-in."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import postgres
from tests.conftest import Home, free_port, twilio_block
from tests.twilio_standin import TwilioStandin

LONDON = ZoneInfo("Europe/London")

pytestmark = pytest.mark.system

# Every test here runs on an SQLite file and on a real PostgreSQL server alike, but for those
# marked sqlite_only: where the keepalive's claim is not what the test is about.
pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url
home = pytest.fixture(params=postgres.ENGINES)(postgres.on_each_engine)
sqlite_only = pytest.mark.parametrize("home", ["sqlite"], indirect=True)


def prepare(home: Home, days_ago: float) -> datetime:
    """A database whose daemon first started `days_ago` days ago and never placed a call."""
    home.cli("db", "upgrade")
    first_start = datetime.now(UTC) - timedelta(days=days_ago)
    home.rows("INSERT INTO state (key, value) VALUES ('first_start', ?)", first_start.isoformat())
    return first_start


def wait_for_call(home: Home, status: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        calls: list[dict[str, Any]] = home.cli_json("history")
        if any(c["status"] == status for c in calls) or time.monotonic() > deadline:
            return calls
        time.sleep(0.2)


def healthz(home: Home) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{home.port}/healthz", timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def test_a_daemon_whose_keepalive_is_due_at_start_rings_the_standin_once(
    home: Home, standin: TwilioStandin, start_daemon: Any
) -> None:
    home.write_config(twilio_block(standin))
    prepare(home, days_ago=30)
    daemon = start_daemon()

    creates = standin.wait_for_creates(1, timeout=10)
    calls = wait_for_call(home, "accepted")
    time.sleep(1.0)  # room for a second, wrong, call to show up
    assert len(standin.creates()) == 1
    request = creates[0]
    assert request.field("To") == "+447700900123" and request.field("Timeout") == "15"
    assert request.field("Url") is None and "<Say>" in (request.field("Twiml") or "")

    assert [(c["reason"], c["status"]) for c in calls] == [("keepalive", "accepted")]
    assert calls[0]["attempts"][0]["sid"].startswith("CA")

    keepalive = home.cli_json("status")["keepalive"]
    assert set(keepalive) == {"enabled", "last_accepted_call", "next_due", "warning"}
    last = datetime.fromisoformat(keepalive["last_accepted_call"])
    assert abs(last - datetime.now(UTC)) < timedelta(seconds=30)
    next_due = datetime.fromisoformat(keepalive["next_due"])
    assert next_due.utcoffset() == next_due.astimezone(LONDON).utcoffset()  # in the configured zone
    assert next_due.astimezone(LONDON).date() == last.astimezone(LONDON).date() + timedelta(days=29)
    assert (next_due.astimezone(LONDON).hour, next_due.minute) == (12, 0)
    assert keepalive["enabled"] is True and keepalive["warning"] is None
    assert healthz(home)["warning"] is None

    # A restart after the call places no second one.
    assert daemon.stop()[0] == 0
    start_daemon()
    time.sleep(1.5)  # room for a wrong second call: the restarted daemon would place it on starting
    assert len(standin.creates()) == 1


@sqlite_only
def test_an_unreachable_twilio_leaves_the_failure_recorded_and_the_warning_everywhere(
    home: Home, start_daemon: Any
) -> None:
    # Nothing listens on this port: every request fails as a network error.
    home.write_config(twilio_block(None, enabled=True, apiBaseURL=f"http://127.0.0.1:{free_port()}"))
    prepare(home, days_ago=40)
    daemon = start_daemon()
    calls = wait_for_call(home, "failed")

    assert [(c["reason"], c["status"]) for c in calls] == [("keepalive", "failed")]
    assert calls[0]["attempts"][0]["error_message"].startswith("could not reach Twilio")
    since = (datetime.now(UTC) - timedelta(days=40)).astimezone(LONDON).date()
    warning = f"trial number at risk: no call since {since:%Y-%m-%d}"
    status = home.cli_json("status")["keepalive"]
    assert status["warning"] == warning and status["last_accepted_call"] is None
    retry = datetime.fromisoformat(status["next_due"]) - datetime.now(UTC)
    assert timedelta(minutes=4) < retry <= timedelta(minutes=5)
    body = healthz(home)
    assert body["status"] == "ok" and body["warning"] == warning
    daemon.stop()
    log = daemon.log_path.read_text()
    assert log.count("WARNING alarmd.service: " + warning) == 1
    assert "s3cret" not in log
