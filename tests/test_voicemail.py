"""Voicemail is not awake (issue 12 item 4): answering machine detection, in-process and through a daemon.

Twilio reports `completed` whether a person or a voicemail answered; with
MachineDetection=Enable it also reports `answered_by`, which the stand-in answers as
Twilio does (tests/twilio_standin.py). In-process, the delivery and the stand-in run on a
fake clock (tests/fakeclock.py); through the daemon, in real time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alarmd import clock
from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.config.settings import load_settings
from alarmd.errors import BadInput, ConfigError
from tests.apiapp import live_api
from tests.conftest import Home, twilio_block, wait_until
from tests.fakeclock import FakeClock
from tests.inprocess import ring_now, service_maker
from tests.twilio_standin import Answer, TwilioStandin

FAST = {"firstRetrySeconds": 0.2, "maxRetrySeconds": 0.5, "pollSeconds": 0.02, "pollMarginSeconds": 0,
        "intervalSeconds": 1, "requestTimeoutSeconds": 2}
PICKED_UP = ["ringing", "in-progress"]  # stays in progress until someone hangs up
MACHINES = ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"]


@pytest.fixture
def make_service(home: Home, standin: TwilioStandin, fake: FakeClock) -> Iterator[Callable[..., AlarmService]]:
    yield from service_maker(home, standin, FAST)


@pytest.mark.parametrize("machine", MACHINES)
def test_a_machine_is_hung_up_on_at_once_and_redialled(make_service, standin, machine) -> None:
    standin.create_script.extend([Answer(statuses=PICKED_UP, answered_by=machine),
                                  Answer(statuses=["ringing", "in-progress", "completed"], answered_by="human")])
    entry = ring_now(make_service(attempts=3), require_human=True)

    assert [r.field("MachineDetection") for r in standin.creates()] == ["Enable", "Enable"]
    (hangup,) = standin.hangups()  # an update to completed: canceled stops only queued or ringing calls
    assert hangup.path.endswith(f"/Calls/{entry['attempts'][0]['sid']}.json")
    assert [(a["status"], a["answered_by"]) for a in entry["attempts"]] == [
        ("completed", machine), ("completed", "human")]
    assert (entry["status"], entry["detail"]) == ("answered", "a person answered")


def test_voicemail_every_time_is_redialled_then_escalated_then_unanswered(make_service, standin) -> None:
    standin.status_script = PICKED_UP
    standin.answered_by_script = "machine_end_beep"
    entry = ring_now(make_service(attempts=2), require_human=True, then="OFFICE")

    assert [r.field("To") for r in standin.creates()] == ["+447700900123"] * 2 + ["+441122334455"] * 2
    assert len(standin.hangups()) == 4
    assert entry["status"] == "unanswered"
    assert entry["detail"] == "nobody answered 4 calls (voicemail, voicemail, voicemail, voicemail)"


def test_a_human_answer_ends_it_after_one_call(make_service, standin) -> None:
    standin.status_script = ["ringing", "in-progress", "completed"]
    entry = ring_now(make_service(), require_human=True, then="OFFICE")

    assert len(standin.creates()) == 1 and standin.hangups() == []
    assert [a["answered_by"] for a in entry["attempts"]] == ["human"]
    assert entry["status"] == "answered"


def test_an_alarm_without_the_option_does_not_ask_for_detection(make_service, standin) -> None:
    standin.status_script = ["ringing", "in-progress", "completed"]
    entry = ring_now(make_service())

    (create,) = standin.creates()
    assert create.field("MachineDetection") is None and "MachineDetection" not in create.form
    assert [a["answered_by"] for a in entry["attempts"]] == [None]
    assert (entry["status"], entry["detail"]) == ("answered", None)


def test_unknown_is_an_answer_unless_the_config_says_otherwise(make_service, standin) -> None:
    standin.status_script = ["ringing", "in-progress", "completed"]
    standin.answered_by_script = "unknown"  # a silent pick-up: detection could not tell
    entry = ring_now(make_service(), require_human=True)
    assert (len(standin.creates()), entry["status"]) == (1, "answered")

    entry = ring_now(make_service(attempts=2, unknownIsAnswer=False), require_human=True)
    assert len(standin.creates()) == 3 and len(standin.hangups()) == 2
    assert entry["detail"] == "nobody answered 2 calls (unknown answerer, unknown answerer)"


def test_the_config_default_applies_to_alarms_that_do_not_say(make_service, standin) -> None:
    service = make_service(requireHuman=True)
    ring_now(service)
    ring_now(service, require_human=False)
    assert [r.field("MachineDetection") for r in standin.creates()] == ["Enable", None]
    with pytest.raises(BadInput, match=r"^require_human must be true or false\.$"):
        service.add_alarm(AlarmInput(to=0, daily="07:00", require_human="yes"), clock.now())  # type: ignore[arg-type]


def test_the_config_keys_are_booleans(home: Home) -> None:
    env = {"HOME": str(home.root / "home")}
    home.write_config()
    redial = load_settings(home.config_path, env=env).redial
    assert (redial.require_human, redial.unknown_is_answer) == (False, True)
    for key in ("requireHuman", "unknownIsAnswer"):
        home.write_config(redial={key: "yes"})
        with pytest.raises(ConfigError, match=rf'^alarmd\.redial\.{key}: expected true or false, got "yes"\.$'):
            load_settings(home.config_path, env=env)


@pytest.mark.system  # the API served by uvicorn on a port
def test_require_human_must_be_a_real_boolean_and_nothing_is_stored(home: Home) -> None:
    with live_api(home, twilio_block(None)) as api:
        for body in ({"to": 0, "daily": "07:00", "require_human": "yes"},
                     {"to": 0, "daily": "07:00", "require_human": 1}):
            refused = api.client.post("/v1/alarms", json=body)
            assert (refused.status_code, refused.json()) == (
                422, {"error": "Require_human: Input should be a valid boolean."})
        assert api.count("alarms") == 0
        alarm = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "require_human": True}).json()
        assert alarm["require_human"] is True
        refused = api.client.patch(f"/v1/alarms/{alarm['id']}", json={"require_human": "no"})
        assert refused.status_code == 422 and refused.json()["error"].startswith("Require_human:")
        changed = api.client.patch(f"/v1/alarms/{alarm['id']}", json={"require_human": False}).json()
        assert changed["require_human"] is False


@pytest.mark.system
def test_machine_answers_through_the_daemon_and_the_cli(home: Home, standin: TwilioStandin, start_daemon) -> None:
    standin.status_script = PICKED_UP
    standin.answered_by_script = "machine_start"
    home.write_config(twilio_block(standin), redial=FAST | {"pollSeconds": 0.05})
    start_daemon()
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    added = home.cli("add", "--at", at, "--to", "MOBILE", "--name", "wake", "--require-human", "--attempts", "2",
                     "--then", "OFFICE").stdout
    assert "a machine is not an answer" in added
    home.cli("add", "--daily", "07:00", "--to", "MOBILE", "--name", "plain")

    wait_until(lambda: _finished(home), timeout=20)
    assert len(standin.creates()) == 4 and len(standin.hangups()) == 4
    assert {r.field("MachineDetection") for r in standin.creates()} == {"Enable"}
    (call,) = home.cli_json("history", "--alarm", "wake")
    assert [a["answered_by"] for a in call["attempts"]] == ["machine_start"] * 4
    assert call["status"] == "unanswered"
    line = next(line for line in home.cli("history").stdout.splitlines() if "wake" in line)
    assert "unanswered" in line and "voicemail" in line
    shown = {a["name"]: a["require_human"] for a in home.cli_json("list")}
    assert shown == {"wake": True, "plain": None}
    home.cli("edit", "plain", "--require-human")
    assert home.cli_json("show", "plain")["require_human"] is True


def _finished(home: Home) -> list[Any]:
    with sqlite3.connect(home.db_path) as connection:
        return connection.execute("SELECT status FROM occurrences WHERE finished_at IS NOT NULL").fetchall()

