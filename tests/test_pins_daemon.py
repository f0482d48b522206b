"""A config edited under stored alarms, then a restart and a due ring (issue 12 item 3),
through the real daemon, the CLI and the Twilio stand-in: nobody is called in the wrong
place, and an alarm whose person left the config is flagged and recorded failed.

One case of each behaviour, on SQLite (pins are the same on either engine): the cases of
whom an edited config means (a number inserted above, a new number, a rename) are
tests/test_pins.py's, in process.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Home, twilio_block, wait_until
from tests.twilio_standin import TwilioStandin

MOBILE = {"name": "MOBILE", "number": "+44 7700 900123"}
OFFICE = {"name": "OFFICE", "number": "+44 1122 334455", "secret": True}
FAST = {"pollSeconds": 0.05, "pollMarginSeconds": 0}

pytestmark = pytest.mark.system


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def configure(home: Home, standin: TwilioStandin, numbers: list[dict[str, Any]]) -> None:
    home.write_config(twilio_block(standin, phoneNumbers=numbers), redial=FAST)


def statuses(home: Home) -> dict[str | None, str]:
    """Each call's status by alarm name, read from the database (polling through the CLI
    would start a process every 50 ms)."""
    return dict(home.rows("SELECT alarm_name, status FROM occurrences WHERE finished_at IS NOT NULL"))


def healthz(home: Home) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{home.port}/healthz", timeout=5) as response:
        return dict(json.loads(response.read()))


def test_after_a_config_edit_and_a_restart_the_alarm_calls_its_person(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    # MOBILE renamed CELL: its number is followed, and the log says so.
    given, dialled, name = "MOBILE", "+447700900123", "CELL"
    edited = [{"name": "CELL", "number": MOBILE["number"]}, OFFICE]
    configure(home, standin, [MOBILE, OFFICE])
    first = start_daemon()
    home.cli("add", "--to", given, "--daily", "07:00", "--name", "daily")
    home.cli("add", "--to", given, "--at", soon(5), "--name", "wake")
    first.stop()
    assert standin.creates() == [], "wake rang before the restart"

    configure(home, standin, edited)
    daemon = start_daemon()

    creates = standin.wait_for_creates(1, timeout=15)
    wait_until(lambda: statuses(home).get("wake") == "answered", timeout=15)
    assert [r.field("To") for r in standin.creates()] == [dialled]
    listed = {a["name"]: a for a in home.cli_json("list")}
    assert listed["daily"]["to"]["name"] == name and listed["daily"]["broken"] is None
    assert creates[0].field("To") == dialled
    assert home.cli_json("history")[0]["attempts"][0]["number_name"] == name
    renames = [line for line in daemon.log().splitlines() if "is gone, but its number" in line]
    assert len(renames) == 1 and "MOBILE is gone, but its number is now CELL's" in renames[0]


def test_an_alarm_whose_number_was_removed_is_flagged_recorded_failed_and_edit_repairs_it(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    configure(home, standin, [MOBILE, OFFICE])
    first = start_daemon()
    home.cli("dial", "OFFICE")  # a call to the secret number while it was configured
    wait_until(lambda: statuses(home).get(None) == "answered")
    home.cli("add", "--to", "OFFICE", "--daily", "07:00", "--name", "office")
    home.cli("add", "--to", "MOBILE", "--daily", "08:00", "--name", "mobile")
    home.cli("add", "--to", "1", "--at", soon(5), "--name", "wake")
    first.stop()
    assert len(standin.creates()) == 1, "wake rang before the restart"

    configure(home, standin, [MOBILE])
    daemon = start_daemon()

    wait_until(lambda: "wake" in statuses(home), timeout=15)
    call, dialled = home.cli_json("history")
    assert (call["status"], call["detail"], call["attempts"]) == ("failed", "OFFICE is not configured", [])
    assert len(standin.creates()) == 1  # only the dial: nobody else is called in OFFICE's place
    assert dialled["attempts"][0]["number"] == "+44 1** *** *455"

    listed = home.cli("list").stdout
    office_row = next(line for line in listed.splitlines() if " office " in line)
    assert office_row.rstrip().endswith("broken: OFFICE is not configured")
    assert "active" in next(line for line in listed.splitlines() if " mobile " in line)
    shown = home.cli("show", "office").stdout
    assert "State:    broken: OFFICE is not configured" in shown
    assert "it will call nobody until `alarmd edit 1 --to NAME`" in shown
    warning = ("alarm office (#1) calls OFFICE, which is not configured: it will call nobody until "
               "`alarmd edit 1 --to NAME`.")
    assert home.cli_json("status")["warnings"] == [warning]
    assert f"Warning:    {warning}" in home.cli("status").stdout
    assert healthz(home)["warnings"] == [warning] and healthz(home)["status"] == "ok"
    assert any("WARNING" in line and warning in line for line in daemon.log().splitlines())
    # The secret number's digits appear nowhere: not in what was printed, nor in the log.
    printed = listed + shown + home.cli("status").stdout + home.cli("history").stdout + daemon.log()
    printed += json.dumps(home.cli_json("list")) + json.dumps(home.cli_json("history"))
    for digits in ("1122334455", "1122 334455", "112233"):
        assert digits not in printed

    repaired = home.cli("edit", "office", "--to", "MOBILE").stdout
    assert "calling MOBILE (+44 7700 900123)" in repaired
    assert "broken" not in home.cli("list").stdout
    assert home.cli_json("status")["warnings"] == [] and healthz(home)["warnings"] == []
