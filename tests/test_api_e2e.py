"""POST /twilio/x as NMO sends it, through a real daemon to the local Twilio stand-in;
and secret numbers masked in the API's answers, the CLI's output and the daemon's log."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alarmd.phonebook import PhoneNumber, mask_in_text
from tests import postgres
from tests.conftest import ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, Home, twilio_block
from tests.twilio_standin import TwilioStandin, twilio_error

# The same behaviour on SQLite and on a real PostgreSQL server (a throwaway cluster).
pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url
home = pytest.fixture(params=postgres.ENGINES)(postgres.on_each_engine)

# Every way the secret OFFICE number (+44 1122 334455) could be written out.
SECRET_FORMS = ("+441122334455", "+44 1122 334455", "1122 334455", "1122334455", "334455")
MASKED = "+44 1** *** *455"


def call(home: Home, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(f"http://127.0.0.1:{home.port}{path}", data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for_status(home: Home, occurrence_id: int, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, body = call(home, "GET", "/v1/calls")
        found = [c for c in body["calls"] if c["id"] == occurrence_id]
        if found and found[0]["status"] == status:
            return dict(found[0])
        time.sleep(0.1)
    raise AssertionError(f"occurrence {occurrence_id} never became {status}")


@pytest.mark.system
def test_post_twilio_0_rings_phone_number_0_once(home: Home, standin: TwilioStandin, start_daemon) -> None:
    home.write_config(twilio_block(standin))
    daemon = start_daemon()
    status, occurrence = call(home, "POST", "/twilio/0", key="nmo-event-17")
    assert status == 202
    assert (occurrence["reason"], occurrence["status"], occurrence["to"]["name"]) == ("dial", "claimed", "MOBILE")

    [create] = standin.wait_for_creates(1)
    assert create.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert create.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert (create.field("To"), create.field("From")) == ("+447700900123", "+14155550100")
    done = wait_for_status(home, occurrence["id"], "answered")  # followed: the stand-in completes it
    assert done["attempts"][0]["sid"].startswith("CA") and done["attempts"][0]["dialer"] == "twilio"

    # NMO timed out and retries with the same key: the first answer, and no second call.
    status, again = call(home, "POST", "/twilio/0", key="nmo-event-17")
    assert (status, again) == (202, occurrence)
    time.sleep(1.0)
    assert len(standin.creates()) == 1
    log = daemon.log()
    assert "MOBILE (+44 7700 900123)" in log and API_TOKEN not in log and AUTH_TOKEN not in log


@pytest.mark.system
def test_secret_numbers_are_masked_in_api_cli_and_log(home: Home, standin: TwilioStandin, start_daemon) -> None:
    # Twilio's own error names the number; it must come out masked too.
    standin.create_script.append(twilio_error(21219, "The number +441122334455 is unverified. "
                                                     "Trial accounts may only call verified numbers."))
    home.write_config(twilio_block(standin))
    daemon = start_daemon()
    home.cli("add", "--to", "OFFICE", "--daily", "07:00", "--name", "office")
    at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    status, _ = call(home, "POST", "/twilio/OFFICE", {"at": at})
    assert status == 201
    status, failing = call(home, "POST", "/twilio/1")
    assert status == 202
    standin.wait_for_creates(1)
    failed = wait_for_status(home, failing["id"], "failed")
    assert standin.creates()[0].field("To") == "+441122334455"  # the real number is what Twilio gets
    assert failed["attempts"][0]["error_message"] == f"Twilio refused: {MASKED} is not a verified caller ID " \
                                                     "on this trial account (21219)"
    status, second = call(home, "POST", "/twilio/OFFICE")
    wait_for_status(home, second["id"], "answered")

    answers = [json.dumps(call(home, "GET", path)[1]) for path in
               ("/v1/alarms", "/v1/alarms/office", "/v1/calls", "/v1/numbers", "/v1/status", "/v1/next")]
    outputs = [home.cli(*args).stdout for args in
               (("list",), ("list", "--json"), ("history",), ("history", "--json"), ("status", "--json"))]
    log = daemon.log()
    for text in [*answers, *outputs, log]:
        assert not any(form in text for form in SECRET_FORMS), text
    assert all(MASKED in text for text in answers[:4])  # those that show numbers
    assert MASKED in outputs[0] and MASKED in outputs[2]
    assert f"OFFICE ({MASKED})" in log and "Twilio accepted call CA" in log
    assert AUTH_TOKEN not in log and API_TOKEN not in log


def test_every_written_form_of_a_secret_number_is_masked_in_free_text() -> None:
    entries = [PhoneNumber(0, "MOBILE", "+447700900123"), PhoneNumber(1, "OFFICE", "+441122334455", secret=True)]
    masked = "+44 1** *** *455"
    for written in ("+441122334455", "+44 112 233 4455", "0112 233 4455", "01122334455", "1122334455"):
        assert mask_in_text(f"The number {written} is unverified.", entries) == f"The number {masked} is unverified."
    assert mask_in_text("+447700900123 rang", entries) == "+447700900123 rang"  # not secret
