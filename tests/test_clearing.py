"""Settings that can be cleared (issue 13 item 9): null in a PATCH, and --no-then, --no-say,
--ring default, --attempts default and --interval default in the CLI, put a field back to
its default. Before, the PATCH answered 200 and changed nothing, and a fallback number
kept being rung until the alarm was deleted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from alarmd import clock
from tests.apiapp import LiveApi, live_api
from tests.conftest import Home, twilio_block
from tests.twilio_standin import TwilioStandin

SET = {"then": "OFFICE", "say": "Wake up.", "ring_seconds": 30, "redial_attempts": 5,
       "redial_interval_seconds": 60, "grace_seconds": 100}
CLEARED = {"then": None, "say": None, "ring_seconds": None, "redial_attempts": None,
           "redial_interval_seconds": None, "grace_seconds": 600}


@pytest.fixture
def api(home: Home) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(None)) as live:
        yield live


def test_patch_with_null_clears_each_setting_to_its_default(api: LiveApi) -> None:
    alarm = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", **SET}).json()
    assert {k: alarm[k] for k in SET}["then"]["name"] == "OFFICE"

    cleared = api.client.patch(f"/v1/alarms/{alarm['id']}", json=dict.fromkeys(SET))

    assert cleared.status_code == 200, cleared.text
    assert {k: cleared.json()[k] for k in SET} == CLEARED
    stored = api.rows("SELECT then_ref, then_name, then_number, say, ring_seconds, redial_attempts, "
                      "redial_interval_seconds, grace_seconds FROM alarms")
    assert stored == [(None, None, None, None, None, None, None, 600)]


def test_null_for_whom_an_alarm_calls_is_refused_and_changes_nothing(api: LiveApi) -> None:
    alarm = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "say": "Hello."}).json()
    refused = api.client.patch(f"/v1/alarms/{alarm['id']}", json={"to": None, "say": None})
    assert refused.status_code == 422
    assert refused.json() == {"error": "To cannot be cleared: an alarm calls someone; give a number's index "
                                       "or name."}
    assert api.client.get(f"/v1/alarms/{alarm['id']}").json()["say"] == "Hello."


def test_a_fallback_cleared_by_patch_is_no_longer_rung(home: Home, standin: TwilioStandin) -> None:
    standin.status_script = ["no-answer"]
    redial = {"attempts": 1, "pollSeconds": 0.02, "pollMarginSeconds": 0}
    with live_api(home, twilio_block(standin), redial=redial) as api:
        at = (clock.now() + timedelta(hours=1)).isoformat()
        alarm = api.client.post("/v1/alarms", json={"to": "MOBILE", "then": "OFFICE", "at": at}).json()

        assert api.client.patch(f"/v1/alarms/{alarm['id']}", json={"then": None}).status_code == 200
        (occurrence_id,) = api.service.claim_due(alarm["id"], datetime.fromisoformat(at))
        api.service.fire_occurrence(occurrence_id)

    assert [r.field("To") for r in standin.creates()] == ["+447700900123"]


def fields(home: Home, ref: str) -> dict[str, Any]:
    shown = home.cli_json("show", ref)
    return {k: shown[k] for k in SET}


@pytest.mark.system
def test_the_cli_clears_with_no_then_no_say_and_default(home: Home, start_daemon) -> None:
    home.write_config(twilio_block(None))
    start_daemon()
    home.cli("add", "--to", "MOBILE", "--daily", "07:00", "--name", "wake", "--then", "OFFICE", "--say",
             "Wake up.", "--ring", "30s", "--attempts", "5", "--interval", "1m", "--grace", "100")

    home.cli("edit", "wake", "--no-then", "--no-say", "--ring", "default", "--attempts", "default",
             "--interval", "default")

    assert fields(home, "wake") == CLEARED | {"grace_seconds": 100}


REFUSED = [
    (("--then", ""), "--then needs a number's index or name; --no-then removes the fallback."),
    (("--then", "  "), "--then needs a number's index or name; --no-then removes the fallback."),
    (("--say", ""), "--say needs the words to speak; --no-say removes the message."),
    (("--then", "OFFICE", "--no-then"), "--then and --no-then conflict: give one of them."),
    (("--say", "Hi.", "--no-say"), "--say and --no-say conflict: give one of them."),
    (("--ring", "defualt"), "Invalid value for '--ring'"),
    (("--attempts", "11"), "Invalid value for '--attempts': 11 is not in the range 1<=x<=10."),
]


@pytest.mark.system
def test_an_empty_or_conflicting_clear_is_one_sentence_and_changes_nothing(home: Home, start_daemon) -> None:
    home.write_config(twilio_block(None))
    start_daemon()
    home.cli("add", "--to", "MOBILE", "--daily", "07:00", "--name", "wake", "--then", "OFFICE", "--say", "Up.")
    for args, sentence in REFUSED:
        result = home.cli("edit", "wake", *args, check=False)
        assert (result.returncode, result.stdout) == (2, ""), args
        assert result.stderr.count("\n") == 1 and sentence in result.stderr, result.stderr
    assert fields(home, "wake")["then"]["name"] == "OFFICE" and fields(home, "wake")["say"] == "Up."
