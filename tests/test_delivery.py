"""Delivery in-process: the real service, a real SQLite file, the real twilio SDK, the stand-in.

The delivery and the stand-in run on a fake clock (tests/fakeclock.py), so every wait
(a backoff, a redial interval, a poll) passes at once and the times asserted are the fake
clock's; only a request's own timeout is real. The backoff rule itself (10 s, doubling,
capped at 2 min) is checked on the pure function with the real defaults. The same paths
with real time and a real daemon: tests/test_delivery_daemon.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from alarmd import clock
from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.calls import callplan
from alarmd.errors import BadInput
from alarmd.phonebook import mask
from tests.conftest import Home
from tests.fakeclock import FakeClock
from tests.inprocess import ring_now, service_maker
from tests.twilio_standin import (
    Answer,
    TwilioStandin,
    rate_limited,
    server_error,
    twilio_error,
    unverified,
)

OFFICE_MASKED = mask("+441122334455")
FAST = {"firstRetrySeconds": 0.2, "maxRetrySeconds": 0.5, "pollSeconds": 0.02,
        "pollMarginSeconds": 0, "intervalSeconds": 1, "requestTimeoutSeconds": 0.5}


@pytest.fixture
def make_service(home: Home, standin: TwilioStandin, fake: FakeClock) -> Iterator[Callable[..., AlarmService]]:
    yield from service_maker(home, standin, FAST)


def gaps(requests: list[Any]) -> list[float]:
    # The fake clock's instants are whole microseconds; as epoch floats they are a little off.
    return [round(b.at - a.at, 6) for a, b in itertools.pairwise(requests)]


# --- transient failures: retried with backoff ------------------------------------------


def test_it_retries_500s_with_doubling_backoff_then_places_one_call(make_service, standin) -> None:
    standin.create_script.extend([server_error(), server_error()])
    entry = ring_now(make_service())

    creates = standin.creates()
    assert len(creates) == 3 and len(standin.placed()) == 1
    first, second = gaps(creates)
    assert first >= 0.2 and second >= 0.4 and second - first >= 0.1  # 0.2 s, then doubled
    assert [a["status"] for a in entry["attempts"]] == ["error", "error", "completed"]
    assert entry["attempts"][0]["error_message"] == (
        "Twilio failed: Unable to create record: An internal server error has occurred (20500); "
        "Twilio lists no such call")
    assert entry["attempts"][0]["permanent"] is False
    # A 500 does not say whether a call was placed: Twilio's call list was read each time.
    assert len(standin.lists()) == 2
    assert entry["status"] == "answered"


def test_it_retries_20429_without_reading_the_call_list(make_service, standin) -> None:
    standin.create_script.extend([rate_limited(), rate_limited()])
    entry = ring_now(make_service())

    assert len(standin.creates()) == 3 and len(standin.placed()) == 1
    assert entry["attempts"][0]["error_code"] == 20429
    assert entry["attempts"][0]["error_message"] == (
        "Twilio refused: Twilio is rate limiting this account (20429)")
    assert standin.lists() == []  # a 429 is a certain refusal: nothing to settle
    assert entry["status"] == "answered"


def test_the_backoff_starts_within_10s_doubles_and_is_capped_at_2_minutes() -> None:
    delays = [callplan.retry_delay(n, 10.0, 120.0).total_seconds() for n in range(1, 8)]
    assert delays == [10, 20, 40, 80, 120, 120, 120]


def test_retries_stop_at_the_end_of_the_grace_window(make_service, standin) -> None:
    standin.create_script.extend(rate_limited() for _ in range(20))
    service = make_service(firstRetrySeconds=0.5, maxRetrySeconds=0.5)
    entry = ring_now(service, grace_seconds=2)

    due = datetime.fromisoformat(entry["scheduled_at"]).timestamp()
    creates = standin.creates()
    assert len(creates) >= 2 and standin.placed() == []
    # No retry is sent once the grace window is over (a request takes a moment to arrive).
    assert max(r.at for r in creates) - due < 2 + 0.5
    assert entry["status"] == "failed"
    assert entry["detail"].startswith("gave up") and "past its grace" in entry["detail"]


# --- requests whose answer was lost -----------------------------------------------------


def test_a_timeout_after_twilio_placed_the_call_is_not_sent_again(make_service, standin) -> None:
    standin.create_script.append(Answer(201, None, delay=1.5))  # placed, answer arrives too late
    entry = ring_now(make_service())

    assert len(standin.creates()) == 1 and len(standin.placed()) == 1
    (attempt,) = entry["attempts"]
    assert attempt["sid"] == standin.placed()[0].sid  # adopted from Twilio's call list
    assert attempt["status"] == "completed" and attempt["duration_seconds"] == 12
    assert entry["status"] == "answered"
    (listing,) = standin.lists()
    assert listing.field("To") == "+447700900123" and listing.field("From") == "+14155550100"


def test_a_timeout_that_placed_nothing_is_sent_again(make_service, standin) -> None:
    standin.create_script.append(server_error(delay=1.5))
    entry = ring_now(make_service())

    assert len(standin.creates()) == 2 and len(standin.placed()) == 1
    lost, placed = entry["attempts"]
    assert lost["status"] == "error" and lost["sid"] is None
    assert lost["error_message"] == "Twilio did not answer within 0.5 s; Twilio lists no such call"
    assert placed["status"] == "completed"


def test_a_dropped_connection_after_placing_is_settled_from_the_call_list(make_service, standin) -> None:
    standin.create_script.append(Answer(201, None, drop=True))
    entry = ring_now(make_service())

    assert len(standin.creates()) == 1 and len(standin.placed()) == 1
    assert entry["attempts"][0]["sid"] == standin.placed()[0].sid
    assert entry["status"] == "answered"


# --- permanent failures: not retried ---------------------------------------------------


@pytest.mark.parametrize(("answer", "code", "sentence"), [
    (unverified(), 21219, "+447700900123 is not a verified caller ID on this trial account"),
    (twilio_error(20003, "Authenticate", 401), 20003, "Twilio rejected the account SID or auth token"),
    (twilio_error(21211, "Invalid 'To' Phone Number"), 21211, "+447700900123 is not a valid phone number"),
    (twilio_error(21215, "Geo permission"), 21215,
     "the account's geo permissions do not allow calling +447700900123"),
])
def test_permanent_errors_fail_the_attempt_at_once(make_service, standin, answer, code, sentence) -> None:
    standin.create_script.append(answer)
    entry = ring_now(make_service())

    assert len(standin.creates()) == 1 and standin.lists() == []
    (attempt,) = entry["attempts"]
    assert attempt["permanent"] is True and attempt["error_code"] == code
    assert attempt["error_message"] == f"Twilio refused: {sentence} ({code})"
    assert entry["status"] == "failed" and entry["detail"] == attempt["error_message"]


def test_a_refusal_for_a_secret_number_is_masked(make_service, standin, caplog) -> None:
    standin.create_script.append(unverified("+441122334455"))
    entry = ring_now(make_service(), to="OFFICE")

    message = entry["attempts"][0]["error_message"]
    assert message == (
        f"Twilio refused: {OFFICE_MASKED} is not a verified caller ID on this trial account (21219)")
    assert entry["attempts"][0]["number"] == OFFICE_MASKED
    logged = caplog.text
    assert "4455" not in logged.replace(OFFICE_MASKED, "") and OFFICE_MASKED in logged


# --- following the call, redialling, escalating ----------------------------------------


def test_it_follows_the_call_to_its_final_status(make_service, standin) -> None:
    standin.status_script = ["queued", "ringing", "ringing", "in-progress", "completed"]
    entry = ring_now(make_service())

    assert len(standin.fetches()) == 5
    assert entry["status"] == "answered"
    assert entry["attempts"][0]["status"] == "completed"
    assert entry["attempts"][0]["duration_seconds"] == 12


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed"])
def test_it_redials_until_the_attempts_are_spent(make_service, standin, outcome) -> None:
    standin.status_script = ["queued", "ringing", outcome]
    entry = ring_now(make_service(attempts=3, intervalSeconds=1))

    creates = standin.creates()
    assert len(creates) == 3
    assert all(gap >= 1.0 for gap in gaps(creates))  # the redial interval
    assert [a["status"] for a in entry["attempts"]] == [outcome] * 3
    assert len({a["sid"] for a in entry["attempts"]}) == 3
    assert entry["status"] == "unanswered"
    assert entry["detail"] == f"nobody answered 3 calls ({outcome}, {outcome}, {outcome})"


def test_an_answered_call_ends_the_occurrence(make_service, standin) -> None:
    standin.create_script.extend([Answer(statuses=["ringing", "busy"]), Answer(statuses=["completed"])])
    entry = ring_now(make_service(attempts=5, intervalSeconds=1))

    assert len(standin.creates()) == 2
    assert [a["status"] for a in entry["attempts"]] == ["busy", "completed"]
    assert entry["status"] == "answered"


def test_per_alarm_attempts_and_interval_override_the_config(make_service, standin) -> None:
    standin.status_script = ["no-answer"]
    entry = ring_now(make_service(attempts=5, intervalSeconds=30), redial_attempts=2,
                     redial_interval_seconds=1)
    assert len(standin.creates()) == 2
    assert entry["status"] == "unanswered"


def test_it_escalates_to_the_fallback_after_every_call_goes_unanswered(make_service, standin) -> None:
    standin.status_script = ["ringing", "no-answer"]
    entry = ring_now(make_service(attempts=2, intervalSeconds=1), then="OFFICE")

    to = [r.field("To") for r in standin.creates()]
    assert to == ["+447700900123", "+447700900123", "+441122334455", "+441122334455"]
    numbers = [a["number"] for a in entry["attempts"]]
    assert numbers == ["+44 7700 900123"] * 2 + [OFFICE_MASKED] * 2  # OFFICE is secret
    assert entry["status"] == "unanswered"


def test_a_refused_first_number_escalates_at_once(make_service, standin) -> None:
    standin.create_script.append(unverified())
    entry = ring_now(make_service(attempts=3), then="OFFICE")

    assert [r.field("To") for r in standin.creates()] == ["+447700900123", "+441122334455"]
    assert entry["status"] == "answered"


def test_polling_is_bounded_by_ring_time_and_margin_and_the_call_is_canceled(make_service, standin,
                                                                             fake) -> None:
    standin.status_script = ["ringing"]  # Twilio never says more
    started = fake.elapsed()
    # Polled every 0.25 s (not 0.02): the bound is the same, in a tenth of the requests.
    entry = ring_now(make_service(attempts=2, intervalSeconds=1, pollMarginSeconds=0.5, pollSeconds=0.25),
                     ring_seconds=5)

    assert 2 * 5 <= fake.elapsed() - started < 2 * 5 + 5
    first, second = entry["attempts"]
    assert first["status"] == second["status"] == "canceled"
    assert first["error_message"] == "Twilio reported no final status within 5 s of ringing"
    # Each call was stopped before anything else could ring: cancel, create, cancel.
    order = [(r.method, r.path.rsplit("/", 1)[-1]) for r in standin.requests if r.method == "POST"]
    assert order == [("POST", "Calls.json"), ("POST", f"{first['sid']}.json"),
                     ("POST", "Calls.json"), ("POST", f"{second['sid']}.json")]
    assert {r.field("Status") for r in standin.cancels()} == {"canceled"}
    assert entry["status"] == "unanswered"


# --- what is sent ----------------------------------------------------------------------


def test_say_and_ring_are_sent_as_inline_twiml_and_timeout(make_service, standin) -> None:
    ring_now(make_service(), say="Time for the 7:10 train <& don't be late>", ring_seconds=45)

    (request,) = standin.creates()
    assert request.field("Twiml") == (
        "<Response><Say>Time for the 7:10 train &lt;&amp; don't be late&gt;</Say></Response>")
    assert request.field("Url") is None
    assert request.field("Timeout") == "45"


def test_without_say_the_calling_uri_rings_for_60_seconds(make_service, standin) -> None:
    ring_now(make_service())
    (request,) = standin.creates()
    assert request.field("Url", ).startswith("http://twimlets.com/holdmusic")
    assert request.field("Twiml") is None and request.field("Timeout") == "60"


def test_a_message_longer_than_twilio_takes_is_refused_and_nothing_is_stored(make_service) -> None:
    service = make_service()
    with pytest.raises(BadInput, match=r"say is too long: as TwiML it is 4,032 characters, Twilio "
                                       r"takes at most 4,000\."):
        service.add_alarm(AlarmInput(to=0, at=clock.now().isoformat(), say="x" * 4000), clock.now())
    longest = "&" * ((4000 - len(callplan.say_twiml(""))) // 5)  # each & becomes &amp;
    service.add_alarm(AlarmInput(to=0, at=clock.now().isoformat(), say=longest), clock.now())
    assert len(service.list_alarms()) == 1


@pytest.mark.parametrize(("field", "value", "sentence"), [
    ("then", "NOBODY", "no phone number is named 'NOBODY'; add it to twilio.phoneNumbers in {config}, "
                       "then run `alarmd config reload`."),
    ("ring_seconds", 1, "ring_seconds must be from 5 to 600, not 1."),
    ("redial_attempts", 0, "redial_attempts must be from 1 to 10, not 0."),
    ("say", "   ", "say must not be empty."),
])
def test_bad_delivery_options_are_one_sentence(make_service, field, value, sentence) -> None:
    service = make_service()
    with pytest.raises(BadInput) as raised:
        service.add_alarm(AlarmInput(to=0, at=clock.now().isoformat(), **{field: value}), clock.now())
    assert str(raised.value) == sentence.format(config=service.settings.client.config_path)
    assert service.list_alarms() == []


# --- stopping and taking over ----------------------------------------------------------


def test_a_stop_interrupts_the_redial_wait_and_leaves_it_resumable(make_service, standin, fake) -> None:
    standin.status_script = ["no-answer"]
    service = make_service(attempts=3, intervalSeconds=60)
    now = clock.now()
    alarm = service.add_alarm(AlarmInput(to=0, at=now.isoformat()), now)
    (occurrence_id,) = service.claim_due(alarm["id"], clock.now() + timedelta(milliseconds=1))
    # 30 s in, the first call is over and the 60 s redial wait has begun: the daemon stops.
    fake.at(30, service.request_stop)
    service.fire_occurrence(occurrence_id)

    assert fake.elapsed() - 30 < 1.5  # the wait ended at the stop, not at its interval
    assert service.wait_idle(2.0)
    assert occurrence_id in service.resumable_occurrences()
    (entry,) = service.history()
    assert entry["status"] == "accepted" and [a["status"] for a in entry["attempts"]] == ["no-answer"]
    assert len(standin.creates()) == 1


def test_a_live_daemons_occurrence_is_not_taken_over(make_service, standin) -> None:
    first, second = make_service(), make_service()  # two daemons, one database file
    now = clock.now()
    alarm = first.add_alarm(AlarmInput(to=0, at=now.isoformat()), now)
    (occurrence_id,) = first.claim_due(alarm["id"], clock.now() + timedelta(milliseconds=1))
    assert second.claim_due(alarm["id"], clock.now() + timedelta(milliseconds=1)) == []

    second.fire_occurrence(occurrence_id)  # the first one holds the lease: nothing happens
    assert standin.creates() == []
    first.fire_occurrence(occurrence_id)
    assert len(standin.creates()) == 1
    second.fire_occurrence(occurrence_id)  # finished: nothing to do
    assert len(standin.creates()) == 1
