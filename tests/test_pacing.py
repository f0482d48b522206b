"""Pacing toward Twilio and Twilio's call queue, in-process: the real service, a real SQLite
file, the real twilio SDK against the stand-in, all on a fake clock (tests/fakeclock.py): a
Retry-After or a turn in Twilio's queue passes at once, and the times asserted are the fake
clock's. The bursts, through the daemon and in real time, are in tests/test_burst_daemon.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from alarmd.alarms.service import AlarmService
from alarmd.calls import pacing
from alarmd.calls.dialers.twilio_http import parse_retry_after
from alarmd.store.models import Attempt
from tests.conftest import Home
from tests.fakeclock import FakeClock
from tests.inprocess import ring_now, service_maker
from tests.test_voicemail import PICKED_UP
from tests.twilio_standin import Answer, Recorded, TwilioStandin, rate_limited

FAST = {"firstRetrySeconds": 0.2, "maxRetrySeconds": 0.5, "pollSeconds": 0.02,
        "pollMarginSeconds": 0, "intervalSeconds": 1, "requestTimeoutSeconds": 2}


@pytest.fixture
def make_service(home: Home, standin: TwilioStandin, fake: FakeClock) -> Iterator[Callable[..., AlarmService]]:
    yield from service_maker(home, standin, FAST)


def apart(first: Recorded, then: Recorded) -> float:
    """Seconds between two requests; the fake clock's instants are whole microseconds, a little off as floats."""
    return round(then.at - first.at, 6)


# --- 20429: Retry-After, and jitter -----------------------------------------------------


def test_it_waits_the_retry_after_twilio_sends_with_a_20429(make_service, standin) -> None:
    standin.create_script.append(rate_limited(retry_after="1.5"))
    entry = ring_now(make_service())  # the backoff alone would retry after 0.2 s

    refused, placed = standin.creates()
    assert refused.answered == 429 and placed.sid is not None
    # At least what Twilio asked, at most that plus the jitter (half of it) and a moment.
    assert 1.5 <= apart(refused, placed) < 1.5 * (1 + pacing.JITTER) + 2
    assert [a["status"] for a in entry["attempts"]] == ["error", "completed"]
    assert entry["attempts"][0]["error_message"] == "Twilio refused: Twilio is rate limiting this account (20429)"
    assert entry["status"] == "answered"


def test_a_retry_after_shorter_than_the_backoff_does_not_shorten_it(make_service, standin) -> None:
    standin.create_script.append(rate_limited(retry_after="0"))
    ring_now(make_service(firstRetrySeconds=0.6, maxRetrySeconds=1))

    refused, placed = standin.creates()
    assert apart(refused, placed) >= 0.6


def test_rate_limited_retries_are_spread_and_other_failures_keep_their_backoff() -> None:
    backoff = timedelta(seconds=10)

    def attempt(attempt_id: int, code: int) -> Attempt:
        return Attempt(id=attempt_id, error_code=code)

    waits = [pacing.retry_wait(attempt(i, 20429), backoff, {}).total_seconds() for i in range(1, 101)]
    assert all(10 <= w < 10 * (1 + pacing.JITTER) for w in waits)
    assert max(waits) - min(waits) > 4 and len(set(waits)) == 100  # spread over the jitter's range
    # The same attempt waits the same on every run: a restart decides as the first run did.
    assert pacing.retry_wait(attempt(7, 20429), backoff, {}) == pacing.retry_wait(attempt(7, 20429), backoff, {})
    # Twilio's Retry-After, when longer than the backoff, is the least it waits.
    assert pacing.retry_wait(attempt(7, 20429), backoff, {7: 30.0}) >= timedelta(seconds=30)
    assert pacing.retry_wait(attempt(7, 20500), backoff, {7: 30.0}) == backoff  # a 500 is not paced


@pytest.mark.parametrize(("header", "seconds"), [
    ("2", 2.0), (" 0.5 ", 0.5), ("0", 0.0), (None, None), ("-1", None), ("nan", None), ("inf", None),
    ("99999", None), ("Wed, 21 Oct 2026 07:28:00 GMT", None),  # a date: the backoff applies alone
])
def test_retry_after_is_read_as_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_a_20429_on_a_status_read_waits_its_retry_after(make_service, standin) -> None:
    standin.fetch_script.append(rate_limited(retry_after="1"))
    entry = ring_now(make_service())  # polls every 0.02 s

    refused, read = standin.fetches()
    assert refused.answered == 429 and apart(refused, read) >= 1.0
    assert entry["status"] == "answered"


def test_a_cancel_refused_with_a_20429_is_asked_again_after_its_retry_after(make_service, standin) -> None:
    standin.calls_per_second = 0.1  # after one call, the next waits 10 s for its turn
    service = make_service(pollSeconds=0.25)  # the same deadlines, fewer status reads
    assert ring_now(service)["status"] == "answered"
    standin.update_script.append(rate_limited(retry_after="1"))

    entry = ring_now(service, grace_seconds=6, redial_attempts=1, ring_seconds=5)

    (attempt,) = entry["attempts"]
    refused, canceled = standin.cancels()
    assert refused.answered == 429 and apart(refused, canceled) >= 1.0
    assert attempt["status"] == "canceled"
    # Stopped while still queued: it never rang, and cannot ring beside anything after it.
    assert standin.canceled_in_queue() == [attempt["sid"]] and attempt["sid"] not in standin.rang()


def test_a_hang_up_refused_with_a_20429_is_asked_again(make_service, standin) -> None:
    standin.create_script.extend([Answer(statuses=PICKED_UP, answered_by="machine_start"),
                                  Answer(statuses=["ringing", "in-progress", "completed"], answered_by="human")])
    standin.update_script.append(rate_limited(retry_after="1"))

    entry = ring_now(make_service(attempts=3), require_human=True)

    refused, hung_up = standin.hangups()
    assert refused.answered == 429 and apart(refused, hung_up) >= 1.0
    assert hung_up.path.endswith(f"/Calls/{entry['attempts'][0]['sid']}.json")
    assert [(a["status"], a["answered_by"]) for a in entry["attempts"]] == [
        ("completed", "machine_start"), ("completed", "human")]
    assert entry["status"] == "answered"


def test_a_20429_on_the_call_list_read_after_a_lost_answer_waits_its_retry_after(make_service, standin) -> None:
    standin.create_script.append(Answer(201, None, drop=True))  # placed, but the answer is lost
    standin.list_script.append(rate_limited(retry_after="1"))

    entry = ring_now(make_service())

    refused, read = standin.lists()
    assert refused.answered == 429 and apart(refused, read) >= 1.0  # firstRetrySeconds is 0.2 here
    assert len(standin.creates()) == 1  # looked, found it placed: not sent again
    assert entry["attempts"][0]["sid"] == standin.placed()[0].sid and entry["status"] == "answered"


# --- Twilio's queue ---------------------------------------------------------------------


@pytest.mark.parametrize(("grace", "canceled_after"), [
    (6, 6),  # the grace bounds the wait in the queue...
    (2, 5),  # ...but never cuts it below ring time + margin (5 + 0 s here), the bound before
])
def test_a_call_queued_past_its_grace_is_canceled_before_it_rings(
    make_service, standin, grace: int, canceled_after: int
) -> None:
    standin.calls_per_second = 0.1  # after one call, the next waits 10 s for its turn
    service = make_service(pollSeconds=0.25)  # the same deadlines, fewer status reads
    ahead = ring_now(service)
    assert ahead["status"] == "answered"

    entry = ring_now(service, grace_seconds=grace, redial_attempts=1, ring_seconds=5)

    (attempt,) = entry["attempts"]
    assert attempt["status"] == "canceled"
    assert attempt["error_message"] == f"Twilio kept the call queued longer than its grace ({grace} s)"
    (cancel,) = standin.cancels()
    assert cancel.field("Status") == "canceled" and cancel.path.endswith(f"{attempt['sid']}.json")
    # Counted by the daemon from just before its request, so the stand-in, which stamps the
    # request on arrival, may see the cancel a few milliseconds short of the bound.
    assert canceled_after - 0.1 <= apart(standin.creates()[1], cancel) < canceled_after + 2
    assert standin.canceled_in_queue() == [attempt["sid"]]  # stopped in the queue: it never rang
    assert attempt["sid"] not in standin.rang()
    assert entry["status"] == "unanswered"
    assert entry["detail"] == "nobody answered 1 call (canceled)"


def test_ring_time_counts_from_when_the_call_leaves_the_queue(make_service, standin) -> None:
    standin.calls_per_second = 1 / 6  # the second call leaves the queue 6 s after the first
    standin.status_script = ["ringing", "ringing", "completed"]
    service = make_service(pollSeconds=0.5)
    ring_now(service)

    # Queued 6 s, longer than its ring time of 5 s: it still rings, and is answered.
    entry = ring_now(service, ring_seconds=5, redial_attempts=1)

    (attempt,) = entry["attempts"]
    assert attempt["status"] == "completed" and entry["status"] == "answered"
    assert standin.cancels() == [] and len(standin.creates()) == 2
    assert attempt["sid"] in standin.rang()
