"""Each path of the HTTP API, its answers and its errors, against the app in-process
(uvicorn on loopback, a real SQLite file, a running scheduler, the dry-run dialer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alarmd.daemon.horizon import HORIZON, HORIZON_JOB
from alarmd.daemon.scheduler import CLAIM_AHEAD  # an alarm's job runs this long before it is due
from tests.apiapp import LiveApi, live_api
from tests.conftest import Home, twilio_block

NUMBERS = [
    {"name": "MOBILE", "number": "+44 7700 900123"},
    {"name": "OFFICE", "number": "+44 1122 334455", "secret": True},
    {"name": "NANNY", "number": "+44 7700 900456", "hidden": True},
]


@pytest.fixture
def api(home: Home) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(None, phoneNumbers=NUMBERS)) as live:
        yield live


def alarm_jobs(api: LiveApi) -> list[dict[str, Any]]:
    """The scheduler's jobs for alarms (the keepalive has one of its own)."""
    return [job for job in api.scheduler.jobs() if str(job["id"]).startswith("alarm-")]


def assert_scheduled(api: LiveApi, at: datetime) -> None:
    """The one alarm's job runs CLAIM_AHEAD before `at`; beyond the horizon (the next hour)
    it has none yet, and the horizon job runs in time to give it one."""
    jobs = {job["id"]: job["next_run_time"] for job in api.scheduler.jobs()}
    covered = api.scheduler.horizon.covered
    assert covered is not None
    if at <= covered:
        assert [job["next_run_time"] for job in alarm_jobs(api)] == [at - CLAIM_AHEAD]
    else:
        assert alarm_jobs(api) == [] and jobs[HORIZON_JOB] <= at - HORIZON


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    message = body["error"]
    assert not message[:1].islower() and message.endswith(".") and "\n" not in message
    return str(message).lower()


# --- POST/GET/DELETE /v1/alarms ---------------------------------------------------------


def test_it_adds_a_one_off_lists_it_gets_it_and_deletes_it(api: LiveApi) -> None:
    at = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    created = api.client.post("/v1/alarms", json={"to": "MOBILE", "at": at.isoformat(), "name": "wake"})
    assert created.status_code == 201
    alarm = created.json()
    assert (alarm["kind"], alarm["name"], alarm["state"]) == ("once", "wake", "active")
    assert datetime.fromisoformat(alarm["next_fire_at"]) == at
    assert alarm["to"] == {"ref": "MOBILE", "index": 0, "name": "MOBILE", "number": "+44 7700 900123"}
    assert (alarm["paused_until"], alarm["skipping"]) == (None, [])

    listed = api.client.get("/v1/alarms").json()["alarms"]
    assert [a["id"] for a in listed] == [alarm["id"]]
    assert api.client.get("/v1/alarms/wake").json() == alarm
    assert api.client.get(f"/v1/alarms/{alarm['id']}").json() == alarm
    assert_scheduled(api, at)

    assert api.client.delete("/v1/alarms/wake").json()["id"] == alarm["id"]
    assert "wake" in error_of(api.client.get("/v1/alarms/wake"), 404)
    assert api.count("alarms") == 0 and alarm_jobs(api) == []


def test_it_adds_recurring_alarms_in_their_own_zone(api: LiveApi) -> None:
    daily = api.client.post("/v1/alarms", json={"to": 0, "daily": "06:30", "days": "mon-fri",
                                                "tz": "America/New_York"}).json()
    cron = api.client.post("/v1/alarms", json={"to": "OFFICE", "cron": "15 7 * * sat", "grace_seconds": 60}).json()
    local = datetime.fromisoformat(daily["next_fire_local"])
    assert (local.hour, local.minute, local.weekday() < 5) == (6, 30, True)
    assert local.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
    assert (daily["days"], daily["tz"]) == ("mon,tue,wed,thu,fri", "America/New_York")
    assert cron["tz"] == "Europe/London" and cron["grace_seconds"] == 60
    assert datetime.fromisoformat(cron["next_fire_local"]).weekday() == 5


def test_a_time_within_60_seconds_in_the_past_means_now(api: LiveApi) -> None:
    before = datetime.now(UTC)
    alarm = api.client.post("/v1/alarms", json={"to": 0, "at": later(seconds=-30)}).json()
    assert datetime.fromisoformat(alarm["next_fire_at"]) >= before - timedelta(seconds=1)
    api.wait_for(lambda: api.rows("SELECT status FROM occurrences") == [("dry-run",)])


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"to": 0, "at": "2020-01-01T07:00:00+00:00"}, 422, "in the past"),
    ({"to": 0, "at": "in a while"}, 422, "not a date and time"),
    ({"to": 0, "daily": "25:00"}, 422, "not a time of day"),
    ({"to": 0, "daily": "07:00", "days": "funday"}, 422, "not a set of days"),
    ({"to": 0, "cron": "61 * * * *"}, 422, "not a valid minute"),
    ({"to": 0, "cron": "* * *"}, 422, "five fields"),
    ({"to": 0, "daily": "07:00", "tz": "Mars/Olympus"}, 422, "not a known time zone"),
    ({"to": 0, "daily": "07:00", "cron": "* * * * *"}, 422, "exactly one of"),
    ({"to": 0}, 422, "exactly one of"),
    ({"at": "2030-01-01T00:00Z"}, 422, "to is required"),
    ({"to": 0, "daily": "07:00", "name": "x" * 101}, 422, "name"),
    ({"to": 0, "daily": "07:00", "name": "123"}, 422, "read as an id"),
    ({"to": 0, "daily": "07:00", "grace_seconds": -1}, 422, "grace_seconds"),
    ({"to": 0, "daily": "07:00", "colour": "red"}, 422, "unknown field 'colour'"),
    ({"to": 7, "daily": "07:00"}, 422, "no phone number 7"),
    ({"to": "BOSS", "daily": "07:00"}, 422, "no phone number is named 'boss'"),
    # A raw number is never dialled: it is read as an index or a name, and neither exists.
    ({"to": "+447700900123", "daily": "07:00"}, 422, "no phone number is named"),
    ({"to": "447700900123", "daily": "07:00"}, 422, "no phone number 447700900123"),
    ([1, 2], 422, "valid dictionary"),
    ({"to": True, "daily": "07:00"}, 422, "to: expected a whole number (an index) or a string"),
    ({"to": 1.0, "daily": "07:00"}, 422, "to: expected a whole number (an index) or a string"),
])
def test_bad_alarms_are_refused_with_one_sentence_and_nothing_stored(
    api: LiveApi, body: Any, status: int, words: str
) -> None:
    assert words in error_of(api.client.post("/v1/alarms", json=body), status)
    assert api.count("alarms") == 0


def test_more_than_366_days_ahead_is_refused(api: LiveApi) -> None:
    assert "366 days" in error_of(api.client.post("/v1/alarms", json={"to": 0, "at": later(days=367)}), 422)
    assert api.client.post("/v1/alarms", json={"to": 0, "at": later(days=365)}).status_code == 201


def test_malformed_json_is_400_and_an_oversized_body_413(api: LiveApi) -> None:
    headers = {"content-type": "application/json"}
    assert "not valid json" in error_of(api.client.post("/v1/alarms", content=b'{"to": 0,', headers=headers), 400)
    big = json.dumps({"to": 0, "daily": "07:00", "name": "x" * 17_000}).encode()
    assert "16 kib" in error_of(api.client.post("/v1/alarms", content=big, headers=headers), 413)

    def chunked() -> Iterator[bytes]:  # no Content-Length: found too big while reading
        yield b'{"to": 0, "daily": "07:00", "name": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}'

    assert "16 kib" in error_of(api.client.post("/v1/alarms", content=chunked(), headers=headers), 413)
    assert api.count("alarms") == 0


def test_the_10001st_alarm_is_refused_with_409(api: LiveApi) -> None:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    with api.service.sessions.begin() as session:
        session.connection().exec_driver_sql(
            "INSERT INTO alarms (kind, time_of_day, days, tz, to_ref, grace_seconds, paused, "
            "skip_instants, created_at, updated_at) VALUES " + ",".join(
                [f"('daily', '07:00', '0', 'UTC', '0', 600, 0, '[]', '{now}', '{now}')"] * 9_999))
    assert api.client.post("/v1/alarms", json={"to": 0, "daily": "08:00"}).status_code == 201
    assert "10,000" in error_of(api.client.post("/v1/alarms", json={"to": 0, "daily": "09:00"}), 409)
    assert api.count("alarms") == 10_000


def test_a_second_alarm_with_the_same_name_is_409(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "wake"})
    assert "already exists" in error_of(
        api.client.post("/v1/alarms", json={"to": 0, "daily": "08:00", "name": "wake"}), 409)
    assert api.count("alarms") == 1


# --- PATCH ------------------------------------------------------------------------------


def test_patch_changes_the_given_fields_and_moves_the_scheduler_job(api: LiveApi) -> None:
    alarm = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "days": "mon-fri",
                                                "name": "weekdays"}).json()
    edited = api.client.patch("/v1/alarms/weekdays", json={"daily": "06:15", "to": "OFFICE"})
    assert edited.status_code == 200
    body = edited.json()
    assert (body["id"], body["daily"], body["days"]) == (alarm["id"], "06:15", "mon,tue,wed,thu,fri")
    assert body["to"]["name"] == "OFFICE" and body["to"]["number"] == "+44 1** *** *455"
    local = datetime.fromisoformat(body["next_fire_local"])
    assert (local.hour, local.minute) == (6, 15)
    assert_scheduled(api, datetime.fromisoformat(body["next_fire_at"]))

    cron = api.client.patch(f"/v1/alarms/{alarm['id']}", json={"cron": "0 9 * * sun", "name": "sundays"}).json()
    assert (cron["kind"], cron["days"], cron["daily"], cron["name"]) == ("cron", None, None, "sundays")
    assert datetime.fromisoformat(cron["next_fire_local"]).weekday() == 6
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    once = api.client.patch("/v1/alarms/sundays", json={"at": at.isoformat(), "name": None}).json()
    assert (once["kind"], once["cron"], once["name"]) == ("once", None, None)
    assert datetime.fromisoformat(once["next_fire_at"]) == at
    assert_scheduled(api, at)


def test_patch_of_the_zone_keeps_the_wall_time(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "wake"})
    body = api.client.patch("/v1/alarms/wake", json={"tz": "Asia/Tokyo"}).json()
    local = datetime.fromisoformat(body["next_fire_local"])
    assert (body["tz"], local.hour, local.utcoffset()) == ("Asia/Tokyo", 7, timedelta(hours=9))


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"cron": "* * * * * *"}, 422, "five fields"),
    ({"days": "mon"}, 422, "days goes with daily"),
    ({"tz": "Nowhere/Land"}, 422, "time zone"),
    ({"to": 9}, 422, "no phone number 9"),
    ({"name": "taken"}, 409, "already exists"),
    ({"name": "y" * 101}, 422, "name"),
    ({"at": "2001-01-01T00:00:00Z"}, 422, "in the past"),
    ({"shout": True}, 422, "unknown field 'shout'"),
])
def test_a_refused_patch_changes_nothing(api: LiveApi, body: dict[str, Any], status: int, words: str) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "09:00", "name": "taken"})
    alarm = api.client.post("/v1/alarms", json={"to": 0, "cron": "0 7 * * *", "name": "wake"}).json()
    assert words in error_of(api.client.patch("/v1/alarms/wake", json=body), status)
    assert api.client.get("/v1/alarms/wake").json() == alarm


def test_patch_of_an_unknown_alarm_is_404(api: LiveApi) -> None:
    assert "'nope'" in error_of(api.client.patch("/v1/alarms/nope", json={"daily": "07:00"}), 404)


# --- pause, resume, skip ----------------------------------------------------------------


def test_pause_records_rings_as_skipped_until_resumed(api: LiveApi) -> None:
    alarm = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "wake"}).json()
    paused = api.client.post("/v1/alarms/wake/pause")
    assert paused.status_code == 200
    assert (paused.json()["state"], paused.json()["paused_until"]) == ("paused", None)
    assert api.client.get("/v1/alarms/wake/next").json()["fire_times"] == []

    due = datetime.fromisoformat(alarm["next_fire_at"])
    assert api.service.claim_due(alarm["id"], due) == []
    assert api.rows("SELECT status, detail FROM occurrences") == [("skipped", "paused")]

    resumed = api.client.post("/v1/alarms/wake/resume").json()
    assert (resumed["state"], resumed["paused_until"]) == ("active", None)
    nxt = datetime.fromisoformat(resumed["next_fire_at"])
    assert nxt == due + timedelta(days=1) or nxt.astimezone(UTC).hour in (6, 7)
    assert len(api.service.claim_due(alarm["id"], nxt)) == 1


def test_pause_until_a_time(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "tz": "UTC", "name": "wake"})
    until = (datetime.now(UTC) + timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    body = api.client.post("/v1/alarms/wake/pause", json={"until": until.isoformat()}).json()
    assert (body["state"], datetime.fromisoformat(body["paused_until"])) == ("paused", until)
    first = api.client.get("/v1/alarms/wake/next?count=1").json()["fire_times"][0]
    assert datetime.fromisoformat(first["at"]) == until + timedelta(hours=19)
    assert "not in the future" in error_of(
        api.client.post("/v1/alarms/wake/pause", json={"until": later(hours=-2)}), 422)
    assert "unknown field" in error_of(api.client.post("/v1/alarms/wake/pause", json={"for": "1h"}), 422)
    assert error_of(api.client.post("/v1/alarms/ghost/pause"), 404)
    assert error_of(api.client.post("/v1/alarms/ghost/resume"), 404)


def test_skip_the_next_ring_then_the_rings_on_a_date(api: LiveApi) -> None:
    alarm = api.client.post("/v1/alarms", json={"to": 0, "cron": "0 7,19 * * *", "tz": "UTC",
                                                "name": "twice"}).json()
    upcoming = [t["at"] for t in api.client.get("/v1/alarms/twice/next?count=6").json()["fire_times"]]
    skipped = api.client.post("/v1/alarms/twice/skip")
    assert skipped.status_code == 200 and skipped.json()["skipping"] == [upcoming[0]]
    again = api.client.post("/v1/alarms/twice/skip").json()  # the next one not yet skipped
    assert again["skipping"] == upcoming[:2]

    day = (datetime.now(UTC) + timedelta(days=3)).date()
    on_day = api.client.post("/v1/alarms/twice/skip", json={"on": day.isoformat()}).json()
    assert len(on_day["skipping"]) == 4
    assert {datetime.fromisoformat(s).date() for s in on_day["skipping"][2:]} == {day}
    left = [t["at"] for t in api.client.get("/v1/alarms/twice/next?count=4").json()["fire_times"]]
    assert not set(left) & set(on_day["skipping"])

    # The scheduler's claim honours the skip.
    first = datetime.fromisoformat(upcoming[0])
    assert api.service.claim_due(alarm["id"], first) == []
    assert api.rows("SELECT status, detail FROM occurrences") == [("skipped", "skipped by request")]
    assert api.client.get("/v1/alarms/twice").json()["skipping"] == on_day["skipping"][1:]


@pytest.mark.parametrize(("on", "words"), [
    ("tomorrow-ish", "not a date"), ("20991231", "not a date"), ("2026-02-30", "not a date"),
    ("2001-01-01", "2001-01-01 is in the past"),
])
def test_a_bad_skip_date_is_422(api: LiveApi, on: str, words: str) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "wake"})
    assert words in error_of(api.client.post("/v1/alarms/wake/skip", json={"on": on}), 422)
    assert api.client.get("/v1/alarms/wake").json()["skipping"] == []


def test_a_weekday_alarm_has_nothing_to_skip_on_a_sunday(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "days": "mon-fri", "name": "wk"})
    today = datetime.now(UTC).date()
    sunday = today + timedelta(days=(6 - today.weekday()) or 7)
    assert "no occurrence left" in error_of(api.client.post("/v1/alarms/wk/skip", json={"on": str(sunday)}), 422)
    assert error_of(api.client.post("/v1/alarms/ghost/skip"), 404)


# --- next -------------------------------------------------------------------------------


def test_next_lists_fire_times_with_their_local_time(api: LiveApi) -> None:
    alarm = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "tz": "Asia/Kolkata"}).json()
    body = api.client.get(f"/v1/alarms/{alarm['id']}/next").json()
    assert body["alarm"] == alarm["id"] and len(body["fire_times"]) == 5
    for item in body["fire_times"]:
        at, local = datetime.fromisoformat(item["at"]), datetime.fromisoformat(item["local"])
        assert at == local and at.utcoffset() == timedelta(0)
        assert (local.hour, local.minute, local.utcoffset()) == (7, 0, timedelta(hours=5, minutes=30))
        assert (item["gap_moved"], item["repeated_hour"]) == (False, False)
    assert len(api.client.get(f"/v1/alarms/{alarm['id']}/next?count=100").json()["fire_times"]) == 100
    for bad in ("0", "101", "many"):
        assert "count" in error_of(api.client.get(f"/v1/alarms/{alarm['id']}/next?count={bad}"), 422)
    assert error_of(api.client.get("/v1/alarms/404/next"), 404)


def test_next_marks_the_spring_gap_and_the_repeated_autumn_hour(api: LiveApi) -> None:
    # 01:30 on Sundays in March and October: the last Sunday of each is a London DST change.
    spring = api.client.post("/v1/alarms", json={"to": 0, "cron": "30 1 * 3 0", "tz": "Europe/London"}).json()
    autumn = api.client.post("/v1/alarms", json={"to": 0, "cron": "30 1 * 10 0", "tz": "Europe/London"}).json()
    times = api.client.get(f"/v1/alarms/{spring['id']}/next?count=10").json()["fire_times"]
    moved = [t for t in times if t["gap_moved"]]
    assert moved and all(t["local"].endswith("T02:30:00+01:00") for t in moved)
    assert all(datetime.fromisoformat(t["local"]).day > 24 for t in moved)
    assert all(t["local"].endswith("T01:30:00+00:00") for t in times if not t["gap_moved"])
    times = api.client.get(f"/v1/alarms/{autumn['id']}/next?count=10").json()["fire_times"]
    repeated = [t for t in times if t["repeated_hour"]]
    assert repeated and all(t["local"].endswith("T01:30:00+01:00") for t in repeated)
    assert not any(t["gap_moved"] for t in times)


def test_next_across_alarms_is_merged_soonest_first_without_paused_ones(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "cron": "0 */6 * * *", "name": "six"})
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "seven"})
    api.client.post("/v1/alarms", json={"to": 0, "cron": "* * * * *", "name": "paused"})
    api.client.post("/v1/alarms/paused/pause")
    items = api.client.get("/v1/next?count=12").json()["fire_times"]
    assert len(items) == 12
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    assert {i["alarm_name"] for i in items} == {"six", "seven"}
    assert all({"alarm_id", "alarm_name", "at", "local", "gap_moved", "repeated_hour"} <= i.keys() for i in items)
    assert len([i for i in items if i["alarm_name"] == "seven"]) in (2, 3)
    assert error_of(api.client.get("/v1/next?count=0"), 422)
    assert api.client.get("/v1/next").status_code == 200


# --- calls, status, numbers -------------------------------------------------------------


def test_calls_are_history_newest_first_filtered_and_paged(api: LiveApi) -> None:
    alarm = api.client.post("/v1/alarms", json={"to": 0, "cron": "*/5 * * * *", "name": "often"}).json()
    start = datetime.fromisoformat(alarm["next_fire_at"])
    for i in range(5):
        for occurrence_id in api.service.claim_due(alarm["id"], start + timedelta(minutes=5 * i)):
            api.service.fire_occurrence(occurrence_id)
    assert api.client.post("/twilio/1").status_code == 202
    api.wait_for(lambda: api.rows("SELECT count(*) FROM occurrences WHERE status = 'dry-run'")[0][0] == 6)

    every = api.client.get("/v1/calls").json()
    assert len(every["calls"]) == 6 and every["next_before"] is None
    assert [c["scheduled_at"] for c in every["calls"]] == sorted((c["scheduled_at"] for c in every["calls"]),
                                                                 reverse=True)
    mine = api.client.get("/v1/calls", params={"alarm": "often", "limit": 2}).json()
    assert [c["alarm_name"] for c in mine["calls"]] == ["often", "often"] and mine["next_before"]
    pages = [c["id"] for c in mine["calls"]]
    cursor = mine["next_before"]
    while cursor:
        page = api.client.get("/v1/calls", params={"alarm": "often", "limit": 2, "before": cursor}).json()
        pages += [c["id"] for c in page["calls"]]
        cursor = page["next_before"]
    assert len(pages) == len(set(pages)) == 5
    older = api.client.get("/v1/calls", params={"before": (start + timedelta(minutes=10)).isoformat()}).json()
    assert [c["alarm_name"] for c in older["calls"]] == ["often", "often", None]  # and the dial, made earlier
    dial = next(c for c in every["calls"] if c["reason"] == "dial")
    assert dial["to"]["number"] == "+44 1** *** *455" and dial["attempts"][0]["number"] == "+44 1** *** *455"
    assert error_of(api.client.get("/v1/calls?alarm=ghost"), 404)
    assert error_of(api.client.get("/v1/calls?before=999"), 422)
    assert error_of(api.client.get("/v1/calls?before=last-week"), 422)
    assert error_of(api.client.get("/v1/calls?limit=0"), 422)


def test_status_says_mode_counts_and_what_is_next(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "wake"})
    status = api.client.get("/v1/status").json()
    assert (status["mode"], status["alarms"], status["scheduler"]) == ("dry-run", 1, "running")
    assert status["next_alarm"]["name"] == "wake" and status["timezone"] == "Europe/London"


def test_numbers_leave_hidden_ones_out_and_mask_secret_ones(api: LiveApi) -> None:
    assert api.client.get("/v1/numbers").json() == {"numbers": [
        {"index": 0, "name": "MOBILE", "number": "+44 7700 900123"},
        {"index": 1, "name": "OFFICE", "number": "+44 1** *** *455"},
    ]}
    # Hidden and secret numbers can still be dialled by name or index.
    assert api.client.post("/v1/alarms", json={"to": "NANNY", "daily": "07:00"}).status_code == 201
    assert api.client.post("/twilio/2").json()["to"]["name"] == "NANNY"
    text = api.client.get("/v1/alarms").text + api.client.get("/v1/calls").text
    assert "1122" not in text and "334455" not in text


# --- /twilio/{x} ------------------------------------------------------------------------


def test_twilio_x_dials_now_and_answers_202_with_the_call(api: LiveApi) -> None:
    response = api.client.post("/twilio/0")
    assert response.status_code == 202
    call = response.json()
    assert (call["reason"], call["status"], call["alarm_id"]) == ("dial", "claimed", None)
    assert call["to"]["name"] == "MOBILE"
    api.wait_for(lambda: api.client.get("/v1/calls").json()["calls"][0]["status"] == "dry-run")
    assert api.client.post("/twilio/MOBILE", json={}).status_code == 202


def test_twilio_x_with_at_schedules_a_one_off_instead(api: LiveApi) -> None:
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    response = api.client.post("/twilio/OFFICE", json={"at": at.isoformat()})
    assert response.status_code == 201
    alarm = response.json()
    assert (alarm["kind"], datetime.fromisoformat(alarm["next_fire_at"])) == ("once", at)
    assert api.count("occurrences") == 0


@pytest.mark.parametrize(("path", "body", "status", "words"), [
    ("/twilio/5", None, 422, "no phone number 5"),
    ("/twilio/+447700900123", None, 422, "no phone number is named"),
    ("/twilio/0", {"at": "2020-01-01T00:00Z"}, 422, "in the past"),
    ("/twilio/0", {"to": "+15550000000"}, 422, "unknown field 'to'"),
])
def test_twilio_x_refuses_what_is_not_configured(
    api: LiveApi, path: str, body: dict[str, Any] | None, status: int, words: str
) -> None:
    assert words in error_of(api.client.post(path, json=body), status)
    assert api.count("occurrences") == 0 and api.count("alarms") == 0


# --- healthz, openapi -------------------------------------------------------------------


def test_healthz_needs_no_token_and_is_503_without_the_scheduler(api: LiveApi) -> None:
    with api.anonymous() as anonymous:
        ok = anonymous.get("/healthz")
        assert ok.status_code == 200 and ok.json()["status"] == "ok"
        api.scheduler.shutdown()
        down = anonymous.get("/healthz")
        assert down.status_code == 503 and down.json()["status"] != "ok"


def test_openapi_describes_every_path_its_errors_and_the_bearer_scheme(api: LiveApi) -> None:
    with api.anonymous() as anonymous:
        spec = anonymous.get("/openapi.json").json()
    expected = {
        ("post", "/v1/alarms"), ("get", "/v1/alarms"), ("get", "/v1/alarms/{ref}"),
        ("patch", "/v1/alarms/{ref}"), ("delete", "/v1/alarms/{ref}"), ("post", "/v1/alarms/{ref}/pause"),
        ("post", "/v1/alarms/{ref}/resume"), ("post", "/v1/alarms/{ref}/skip"), ("post", "/v1/alarms/{ref}/unskip"),
        ("get", "/v1/alarms/{ref}/next"), ("get", "/v1/next"), ("get", "/v1/calls"), ("get", "/v1/status"),
        ("get", "/v1/numbers"), ("post", "/twilio/{x}"), ("get", "/healthz"),
        ("post", "/v1/web/links"), ("delete", "/v1/web/sessions"),
    }
    found = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert found == expected
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]
        ["HTTPBearer"]["description"]}
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for method, path in expected:
        operation = spec["paths"][path][method]
        codes = set(operation["responses"])
        assert {"400", "401", "404", "409", "413", "422", "429"} <= codes, (method, path)
        for code in ("401", "404", "422"):
            assert operation["responses"][code]["content"]["application/json"]["schema"] == error_ref
        assert ("security" in operation) == (path != "/healthz")
    assert spec["paths"]["/twilio/{x}"]["post"]["responses"].keys() >= {"201", "202"}
    assert "503" in spec["paths"]["/healthz"]["get"]["responses"]


def test_unknown_paths_and_methods_answer_in_the_error_shape(api: LiveApi) -> None:
    assert error_of(api.client.get("/v2/everything"), 404)
    assert error_of(api.client.put("/v1/alarms"), 405)

