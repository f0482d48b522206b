"""Idempotency-Key: NMO retries on timeouts, and a retry must never make a second call."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alarmd.api.idempotency import IdempotencyStore, Replay, fingerprint
from alarmd.errors import Conflict
from tests.apiapp import LiveApi, live_api
from tests.conftest import Home, twilio_block
from tests.twilio_standin import Answer, TwilioStandin


@pytest.fixture
def api(home: Home, standin: TwilioStandin) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(standin)) as live:
        yield live


def at(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def test_a_retried_post_gets_the_first_answer_and_creates_nothing(api: LiveApi) -> None:
    body = {"to": 0, "at": at(3), "name": "nmo"}
    first = api.client.post("/v1/alarms", json=body, headers={"Idempotency-Key": "job-1"})
    # The same JSON written another way is the same request.
    again = api.client.post("/v1/alarms", json=dict(reversed(body.items())), headers={"Idempotency-Key": "job-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert api.count("alarms") == 1


def test_the_same_key_with_another_body_or_path_is_409(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "at": at(3)}, headers={"Idempotency-Key": "k"})
    other = api.client.post("/v1/alarms", json={"to": 0, "at": at(4)}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 409 and "different request" in other.json()["error"]
    assert api.client.post("/twilio/0", headers={"Idempotency-Key": "k"}).status_code == 409
    assert api.count("alarms") == 1 and api.count("occurrences") == 0


def test_a_refused_request_stores_nothing_so_its_key_can_be_used_again(api: LiveApi) -> None:
    refused = api.client.post("/v1/alarms", json={"to": 9, "at": at(3)}, headers={"Idempotency-Key": "k2"})
    assert refused.status_code == 422
    assert api.count("idempotency") == 0 and api.count("alarms") == 0
    fixed = api.client.post("/v1/alarms", json={"to": 0, "at": at(3)}, headers={"Idempotency-Key": "k2"})
    assert fixed.status_code == 201


@pytest.mark.system
def test_a_retried_twilio_x_never_makes_a_second_call(api: LiveApi, standin: TwilioStandin) -> None:
    standin.create_script.append(Answer(201, None, delay=0.5))
    answers = [api.client.post("/twilio/0", headers={"Idempotency-Key": "press-1"}) for _ in range(3)]
    assert {a.status_code for a in answers} == {202}
    assert all(a.json() == answers[0].json() for a in answers)
    standin.wait_for_creates(1)
    api.wait_for(lambda: api.rows("SELECT status FROM occurrences") == [("accepted",)])
    assert len(standin.creates()) == 1 and api.count("attempts") == 1


def test_retries_racing_the_first_request_wait_for_its_answer(api: LiveApi, standin: TwilioStandin) -> None:
    results: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()

    def press() -> None:
        response = api.client.post("/twilio/MOBILE", headers={"Idempotency-Key": "race"})
        with lock:
            results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=press) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [202] * 6
    assert len({body["id"] for _, body in results}) == 1  # type: ignore[misc]
    standin.wait_for_creates(1)
    api.wait_for(lambda: api.rows("SELECT status FROM occurrences") == [("accepted",)])
    assert len(standin.creates()) == 1 and api.count("occurrences") == 1


def test_pause_skip_patch_and_delete_replay_too(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "wake"})
    for method, path, body in (("POST", "/v1/alarms/wake/skip", None), ("PATCH", "/v1/alarms/wake", {"daily": "06:00"}),
                               ("POST", "/v1/alarms/wake/pause", {"until": at(30)})):
        first = api.client.request(method, path, json=body, headers={"Idempotency-Key": f"{method}{path}"})
        second = api.client.request(method, path, json=body, headers={"Idempotency-Key": f"{method}{path}"})
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
    assert len(api.client.get("/v1/alarms/wake").json()["skipping"]) == 0  # the PATCH rescheduled it
    gone = api.client.delete("/v1/alarms/wake", headers={"Idempotency-Key": "rm"})
    assert api.client.delete("/v1/alarms/wake", headers={"Idempotency-Key": "rm"}).json() == gone.json()


def test_a_key_longer_than_200_characters_is_422(api: LiveApi) -> None:
    response = api.client.post("/twilio/0", headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["error"]
    assert api.count("occurrences") == 0


def test_keys_are_forgotten_after_24_hours(api: LiveApi) -> None:
    store = IdempotencyStore(api.service.sessions)
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    digest = fingerprint("POST", "/v1/alarms", {"to": 0})
    assert store.begin("old", digest, now) is None
    store.finish("old", 201, {"id": 1})
    assert store.begin("old", digest, now + timedelta(hours=23, minutes=59)) == Replay(201, {"id": 1})
    with pytest.raises(Conflict):
        store.begin("old", fingerprint("POST", "/v1/alarms", {"to": 1}), now + timedelta(hours=23))
    assert store.begin("old", digest, now + timedelta(hours=24, seconds=1)) is None  # a new request
