"""A hotel's 07:00 through a real daemon: many alarms due in the same second, with Twilio
queueing calls beyond its rate, or refusing some requests with 20429.

The real twilio SDK speaks to the stand-in. Each alarm says its own room (--say), so
every request is matched to its alarm. Exactly-once is checked on the stand-in's own
log, as in tests/test_delivery_daemon.py.
"""

from __future__ import annotations

import http.client
import itertools
import json
import sqlite3
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import API_TOKEN, Home, twilio_block, wait_until
from tests.twilio_standin import Recorded, TwilioStandin

pytestmark = pytest.mark.system

FAST = {"firstRetrySeconds": 0.2, "maxRetrySeconds": 2, "pollSeconds": 0.25, "pollMarginSeconds": 1,
        "intervalSeconds": 1, "requestTimeoutSeconds": 10}


def add_burst(home: Home, count: int, **fields: Any) -> float:
    """Add `count` one-off alarms due at the same instant, through the API; that instant (time.time())."""
    # Far enough ahead that all are added before the daemon claims them (3 s early): adding
    # one takes 3-5 ms on a quiet machine, 30 ms are allowed. One added late still rings at once.
    instant = datetime.now(UTC) + timedelta(seconds=3.5 + count * 0.03)
    connection = http.client.HTTPConnection("127.0.0.1", home.port, timeout=10)
    try:
        for room in range(count):
            body = {"to": "MOBILE", "at": instant.isoformat(), "say": f"room {room}", **fields}
            connection.request("POST", "/v1/alarms", json.dumps(body), {
                "Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 201, response.read()
            response.read()
    finally:
        connection.close()
    return instant.timestamp()


def finished(home: Home) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home.db_path) as db:
        return db.execute("SELECT status, detail FROM occurrences WHERE finished_at IS NOT NULL").fetchall()


def assert_each_call_placed_once(home: Home, standin: TwilioStandin) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home.db_path) as db:
        attempts = db.execute("SELECT sid, status, error_code FROM attempts ORDER BY id").fetchall()
    sids = [sid for sid, _, _ in attempts if sid]
    assert sorted(sids) == sorted(r.sid for r in standin.placed())
    assert len(set(sids)) == len(sids)
    return attempts


def by_room(creates: list[Recorded]) -> dict[str, list[Recorded]]:
    rooms: dict[str, list[Recorded]] = defaultdict(list)
    for record in creates:
        rooms[record.field("Twiml") or ""].append(record)
    return rooms


def test_a_burst_deeper_than_twilios_queue_rings_every_call_once(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    # Twilio's default rate: the 9th call leaves the queue 8 s after the first, longer than
    # ring time + margin (5 + 1 s), when the old rule canceled it and dialled it again.
    standin.calls_per_second = 1
    standin.status_script = ["ringing", "completed"]
    home.write_config(twilio_block(standin), redial=FAST)
    start_daemon()
    add_burst(home, 9, ring_seconds=5, redial_attempts=2)

    wait_until(lambda: len(finished(home)) == 9, timeout=40)
    assert finished(home) == [("answered", None)] * 9
    attempts = assert_each_call_placed_once(home, standin)
    assert [status for _, status, _ in attempts] == ["completed"] * 9
    assert len(standin.creates()) == 9 and standin.cancels() == []
    assert len(standin.rang()) == 9
    first_request = min(r.at for r in standin.creates())
    assert max(standin.leaves_queue.values()) - first_request > 5 + 1


@pytest.mark.xdist_group("burst_of_100")  # a flood: on a worker of its own, so its neighbours keep their pace
def test_a_burst_of_100_with_a_third_refused_20429_rings_all_within_their_grace(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    # Every third request is refused, retries too (100 -> 33 -> 11 -> 4 -> 1), each time
    # with Retry-After: 1, five times the backoff configured (0.2 s).
    standin.rate_limit_every = 3
    standin.retry_after = "1"
    home.write_config(twilio_block(standin), redial=FAST, limits={"callsPerHour": 200})
    start_daemon()
    instant = add_burst(home, 100, grace_seconds=60)

    wait_until(lambda: len(finished(home)) == 100, timeout=60)
    assert finished(home) == [("answered", None)] * 100
    attempts = assert_each_call_placed_once(home, standin)
    creates = standin.creates()
    refused = [r for r in creates if r.answered == 429]
    assert len(refused) >= 33 and len(creates) == 100 + len(refused)
    assert sorted(code for _, _, code in attempts if code) == [20429] * len(refused)
    rooms = by_room(creates)
    assert len(rooms) == 100 and all(tries[-1].sid is not None for tries in rooms.values())
    # Not hammering: each retry waited at least the Retry-After after its refusal, and the
    # retries were spread by the jitter rather than sent together.
    waits = [b.at - a.at for tries in rooms.values() for a, b in itertools.pairwise(tries)]
    assert len(waits) == len(refused) and min(waits) >= 1.0
    assert max(waits) - min(waits) >= 0.25
    # Inside their grace (60 s), with room to spare.
    assert max(r.at for r in creates) - instant < 30
    time.sleep(0.5)  # room for a stray retry, which the last refusal's Retry-After (1 s) would bring
    assert len(standin.creates()) == len(creates)  # nothing more went out
