"""The web page's views and actions through Starlette's TestClient: the main page, the form
(good and bad), every button, test calls, history; CSRF on every post."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alarmd import clock
from alarmd.alarms import inputs
from alarmd.alarms.inputs import AlarmInput
from alarmd.errors import BadInput
from tests.conftest import API_TOKEN, Home, twilio_block, wait_until
from tests.webapp import WebApp, web_app

WEEKDAYS = {f"day_{d}": "1" for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebApp]:
    (tmp_path / "home").mkdir()
    with web_app(Home(tmp_path), twilio_block(None)) as app:
        app.sign_in()
        yield app


def add(web: WebApp, **given: Any) -> dict[str, Any]:
    return web.service.add_alarm(AlarmInput(**{"to": "MOBILE", "daily": "07:00", **given}), clock.now())


def test_it_adds_a_mon_fri_alarm_through_the_form(web: WebApp) -> None:
    answer = web.post("/alarms", {"time": "07:00", **WEEKDAYS, "to": "MOBILE", "name": "wake",
                                  "say": "Up you get.", "ring_seconds": "45", "then": ""})
    assert (answer.status_code, answer.headers["location"]) == (303, "/#alarm-1")
    alarm = web.service.get_alarm(1)
    assert (alarm["daily"], alarm["days"], alarm["tz"]) == ("07:00", "mon,tue,wed,thu,fri", "Europe/London")
    assert (alarm["name"], alarm["say"], alarm["ring_seconds"], alarm["to"]["name"]) == ("wake", "Up you get.", 45,
                                                                                         "MOBILE")
    page = web.client.get("/").text
    assert 'id="alarm-1"' in page and "07:00 Mon–Fri Europe/London" in page
    assert 'data-countdown="' in page and ">in " in page


def test_it_adds_a_one_off_from_a_time_and_a_date_and_a_cron_from_more_options(web: WebApp) -> None:
    day = (clock.now() + timedelta(days=1)).astimezone(ZoneInfo("America/New_York")).date().isoformat()
    assert web.post("/alarms", {"time": "06:30", "date": day, "to": "MOBILE", "tz": "America/New_York"}
                    ).status_code == 303
    once = web.service.get_alarm(1)
    assert once["kind"] == "once" and once["next_fire_local"].startswith(f"{day}T06:30")
    assert web.post("/alarms", {"time": "", "cron": "30 6 * * 1-5", "to": "MOBILE"}).status_code == 303
    assert web.service.get_alarm(2)["cron"] == "30 6 * * 1-5"


@pytest.mark.parametrize(("form", "field", "sentence"), [
    ({"time": "07:00", "ring_seconds": "3"}, "ring_seconds", "Ring_seconds must be from 5 to 600, not 3."),
    ({"time": "07:00", "ring_seconds": "soon"}, "ring_seconds", "Ring time must be a whole number."),
    ({"time": "07:00", "tz": "Mars/Olympus"}, "tz", "'Mars/Olympus' is not a known time zone"),
    ({"time": "07:00", "date": "2020-01-01"}, "date", "is in the past."),
    ({"time": ""}, "time", "Give a time"),
    ({"time": "07:00", "days": None}, "days", "Choose at least one day"),
    ({"time": "07:00", "cron": "61 * * * *"}, "cron", "'61' is not a valid minute"),
    ({"time": "07:00", "name": "42"}, "name", "would be read as an id"),
    ({"time": "07:00", "then": "7"}, "then", "There is no phone number 7"),
])
def test_a_bad_form_shows_the_services_sentence_beside_the_field_and_stores_nothing(
    web: WebApp, form: dict[str, Any], field: str, sentence: str
) -> None:
    days = {} if form.pop("days", 1) is None else WEEKDAYS
    answer = web.post("/alarms", {"to": "MOBILE", **days, **form})
    assert answer.status_code == 422
    assert f'<p class="error" id="e-{field}" role="alert">' in answer.text
    assert sentence.replace("'", "&#39;") in answer.text
    assert 'aria-invalid="true" aria-describedby="e-' + field + '"' in answer.text or field == "days"
    assert web.count("alarms") == 0
    # what was typed is still there
    assert f'value="{form["time"]}"' in answer.text


# A sentence with none of the words the page once looked for in a message to place it.
FREE_SENTENCE = "Refused for reasons of its own."


@pytest.mark.parametrize(("field", "beside"), [
    ("at", "date"), ("daily", "time"), ("days", "days"), ("tz", "tz"), ("cron", "cron"), ("to", "to"),
    ("then", "then"), ("name", "name"), ("say", "say"), ("ring_seconds", "ring_seconds"),
    ("grace_seconds", "grace_seconds"), ("require_human", "form"), (None, "form"),
])
def test_an_error_lands_beside_the_field_it_names_whatever_its_words(
    web: WebApp, monkeypatch: pytest.MonkeyPatch, field: str | None, beside: str
) -> None:
    def refuse(_name: str | None) -> str | None:
        raise BadInput(FREE_SENTENCE, field=field)

    monkeypatch.setattr(inputs, "check_name", refuse)
    answer = web.post("/alarms", {"time": "07:00", **WEEKDAYS, "to": "MOBILE"})
    assert answer.status_code == 422
    assert f'<p class="error" id="e-{beside}" role="alert">{FREE_SENTENCE}</p>' in answer.text
    assert answer.text.count('class="error"') == 1
    # The API's answer keeps its one shape, whichever field the error names.
    api = web.client.post("/v1/alarms", json={"to": 0, "daily": "07:00"},
                          headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert (api.status_code, api.json()) == (422, {"error": FREE_SENTENCE})
    assert web.count("alarms") == 0


def test_a_name_taken_is_409_beside_the_name(web: WebApp) -> None:
    add(web, name="wake")
    answer = web.post("/alarms", {"time": "08:00", **WEEKDAYS, "to": "MOBILE", "name": "wake"})
    assert answer.status_code == 409 and 'id="e-name"' in answer.text and "already exists" in answer.text


def test_skip_next_and_pause_and_resume(web: WebApp) -> None:
    alarm = add(web, name="wake")
    assert web.post("/alarms/1/skip").headers["location"] == "/#alarm-1"
    assert web.service.get_alarm(1)["skipping"] == [alarm["next_fire_at"]]
    assert "skipping next" in web.client.get("/").text
    web.post("/alarms/1/pause")
    assert web.service.get_alarm(1)["state"] == "paused"
    page = web.client.get("/").text
    assert ">Resume</button>" in page and "No alarm will ring." in page
    web.post("/alarms/1/resume")
    assert web.service.get_alarm(1)["state"] == "active"


def test_pause_until_a_date_resumes_on_that_day_in_the_alarms_zone(web: WebApp) -> None:
    add(web, tz="Asia/Tokyo")
    day = (clock.now() + timedelta(days=10)).date().isoformat()
    form = web.client.get("/alarms/1/pause")
    assert form.status_code == 200 and '<label for="until">Back on</label>' in form.text and "Asia/Tokyo" in form.text
    web.post("/alarms/1/pause", {"until": day})
    alarm = web.service.get_alarm(1)
    assert alarm["paused_until"] is not None
    assert datetime.fromisoformat(alarm["paused_until"]).astimezone(ZoneInfo("Asia/Tokyo")).isoformat().startswith(
        f"{day}T00:00")
    assert "paused until" in web.client.get("/").text
    refused = web.post("/alarms/1/pause", {"until": "2020-01-01"})
    assert refused.status_code == 422 and "is not in the future" in refused.text


def test_delete_asks_once_then_deletes(web: WebApp) -> None:
    add(web, name="wake")
    ask = web.post("/alarms/1/delete")
    assert ask.status_code == 200 and ">Confirm delete</button>" in ask.text
    assert web.count("alarms") == 1
    done = web.post("/alarms/1/delete", {"confirm": "yes"})
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert web.count("alarms") == 0
    assert web.post("/alarms/1/skip").status_code == 404


def test_editing_only_the_name_keeps_the_schedule_and_its_skips(web: WebApp) -> None:
    add(web, name="wake", days="mon-fri")
    web.post("/alarms/1/skip")
    skipping = web.service.get_alarm(1)["skipping"]
    form = web.client.get("/alarms/1/edit")
    assert form.status_code == 200 and 'value="wake"' in form.text and ">Save</button>" in form.text
    posted = {"time": "07:00", **WEEKDAYS, "to": "MOBILE", "name": "get up", "tz": "Europe/London"}
    assert web.post("/alarms/1/edit", posted).headers["location"] == "/#alarm-1"
    alarm = web.service.get_alarm(1)
    assert (alarm["name"], alarm["skipping"], alarm["days"]) == ("get up", skipping, "mon,tue,wed,thu,fri")


def test_editing_the_time_and_days_reschedules(web: WebApp) -> None:
    add(web, days="mon-fri", say="hello")
    posted = {"time": "09:15", "day_sat": "1", "day_sun": "1", "to": "MOBILE", "tz": "Europe/London", "say": ""}
    web.post("/alarms/1/edit", posted)
    alarm = web.service.get_alarm(1)
    assert (alarm["daily"], alarm["days"], alarm["say"]) == ("09:15", "sat,sun", None)
    bad = web.post("/alarms/1/edit", {**posted, "ring_seconds": "1000"})
    assert bad.status_code == 422 and 'id="e-ring_seconds"' in bad.text
    assert web.service.get_alarm(1)["ring_seconds"] is None


def test_a_test_call_dials_the_number_once_a_minute(web: WebApp) -> None:
    answer = web.post("/numbers/0/call")
    assert (answer.status_code, answer.headers["location"]) == (303, "/#test-calls")
    wait_until(lambda: web.service.history()[0]["status"] == "dry-run")
    again = web.post("/numbers/0/call")
    assert again.status_code == 429 and int(again.headers["retry-after"]) <= 60
    assert "was called less than a minute ago" in again.text
    assert web.count("occurrences") == 1
    assert "dry-run: nobody was called" in web.client.get("/").text


def test_history_shows_calls_newest_first_with_outcomes_in_words_and_pages(web: WebApp) -> None:
    now = clock.now()
    with web.service.sessions.begin() as db:
        from alarmd.store.models import Attempt, Occurrence
        for i, (status, attempt, detail) in enumerate([("answered", "completed", None),
                                                       ("unanswered", "busy", None),
                                                       ("failed", "error", "Twilio refused: bad credentials"),
                                                       ("missed", None, "alarmd was not running")] * 8):
            occurrence = Occurrence(claim_key=f"k{i}", reason="alarm", to_ref="0", alarm_name="wake",
                                    scheduled_at=now - timedelta(hours=i), status=status, detail=detail,
                                    created_at=now, finished_at=now)
            if attempt:
                occurrence.attempts = [Attempt(number="+447700900123", number_name="MOBILE", dialer="twilio",
                                               started_at=now, status=attempt)]
            db.add(occurrence)
    page = web.client.get("/history")
    assert page.status_code == 200 and "<h1>History</h1>" in page.text
    text = page.text
    assert text.index(">answered<") < text.index(">busy<") < text.index("failed: Twilio refused: bad credentials")
    assert "missed: alarmd was not running" in text
    assert "Older calls" in text
    second = web.client.get("/history?before=" + text.split("/history?before=")[1].split('"')[0])
    assert second.status_code == 200 and second.text.count('class="card call') == 7
    assert web.client.get("/history?before=abc").status_code == 400


def test_the_main_page_shows_the_dry_run_banner_and_the_keepalive(web: WebApp) -> None:
    page = web.client.get("/").text
    assert "Dry run: nobody will be called (twilio.enabled is not true)." in page
    assert "<h1>Alarms</h1>" in page and ">Add alarm</button>" in page


def test_the_form_has_every_accessible_name_the_design_gives(web: WebApp) -> None:
    page = web.client.get("/").text
    for label in ("Time", "Date", "Call", "Name", "Message", "Ring time", "Fallback"):
        assert f">{label}</label>" in page, label
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        assert f"<span>{day}</span></label>" in page
    assert 'type="time"' in page and 'type="date"' in page


POSTS = [("/alarms", {"time": "07:00", "to": "MOBILE", **WEEKDAYS}), ("/alarms/1/skip", {}),
         ("/alarms/1/pause", {}), ("/alarms/1/resume", {}), ("/alarms/1/delete", {"confirm": "yes"}),
         ("/alarms/1/edit", {"time": "09:00", "to": "MOBILE", **WEEKDAYS}), ("/numbers/0/call", {}),
         ("/logout", {})]


@pytest.mark.parametrize(("path", "data"), POSTS, ids=[p for p, _ in POSTS])
def test_a_post_without_the_csrf_token_changes_nothing(web: WebApp, path: str, data: dict[str, Any]) -> None:
    add(web, name="wake")
    before = (web.rows("SELECT * FROM alarms"), web.count("occurrences"), web.count("web_sessions"))
    for token in (None, "forged"):
        answer = web.client.post(path, data={**data, **({"csrf": token} if token else {})})
        assert answer.status_code == 403, path
        assert "nothing was changed" in answer.text
    assert (web.rows("SELECT * FROM alarms"), web.count("occurrences"), web.count("web_sessions")) == before


def test_a_post_larger_than_any_form_is_refused(web: WebApp) -> None:
    answer = web.post("/alarms", {"time": "07:00", "to": "MOBILE", "say": "x" * 20_000})
    assert answer.status_code == 413 and web.count("alarms") == 0


def test_unknown_pages_and_bad_ids_are_pages_not_tracebacks(web: WebApp) -> None:
    for path in ("/alarms/999/edit", "/alarms/abc/edit"):
        answer = web.client.get(path)
        assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]
        assert "Traceback" not in answer.text


def test_an_alarm_whose_number_left_the_config_is_broken_and_promises_no_ring(web: WebApp) -> None:
    from alarmd.config.settings import load_settings

    add(web, name="wake")
    block = twilio_block(None)
    block["phoneNumbers"] = block["phoneNumbers"][1:]  # MOBILE removed; OFFICE (secret) stays
    web.home.write_config(block)
    web.service.apply_settings(load_settings(web.home.config_path, env={"HOME": str(web.home.root / "home")}))
    page = web.client.get("/").text
    assert "broken: MOBILE is not configured" in page
    assert "calls MOBILE (no longer configured)" in page
    assert "Alarm wake (#1) calls MOBILE, which is not configured: it will call nobody" in page
    assert "No alarm will ring." in page and "Skip next" not in page
    assert "7700900123" not in re.sub(r"\D", "", page) and "***123" not in page



def test_unskip_takes_the_skip_back_and_skip_days_covers_a_holiday(web: WebApp) -> None:
    add(web, name="wake")
    web.post("/alarms/1/skip")
    assert ">Unskip</button>" in web.client.get("/").text
    assert web.post("/alarms/1/unskip").headers["location"] == "/#alarm-1"
    alarm = web.service.get_alarm(1)
    assert alarm["skipping"] == [] and alarm["next_ring_at"] == alarm["next_fire_at"]
    refused = web.post("/alarms/1/unskip")
    assert refused.status_code == 422 and "Traceback" not in refused.text
    assert "Skip days" in web.client.get("/alarms/1/pause").text
    first = (clock.now() + timedelta(days=3)).astimezone(ZoneInfo("Europe/London")).date()
    web.post("/alarms/1/skip", {"first": first.isoformat(), "last": (first + timedelta(days=2)).isoformat()})
    assert len(web.service.get_alarm(1)["skipping"]) == 3
    web.post("/alarms/1/unskip", {"first": first.isoformat()})
    assert len(web.service.get_alarm(1)["skipping"]) == 2


def test_require_a_human_is_set_and_cleared_through_the_form(web: WebApp) -> None:
    assert "> Require a human</label>" in web.client.get("/").text
    web.post("/alarms", {"time": "07:00", **WEEKDAYS, "to": "MOBILE", "require_human": "1"})
    assert web.service.get_alarm(1)["require_human"] is True
    edit = web.client.get("/alarms/1/edit").text
    assert 'name="require_human" value="1" aria-describedby="h-human" checked' in edit
    web.post("/alarms/1/edit", {"time": "07:00", **WEEKDAYS, "to": "MOBILE", "tz": "Europe/London"})
    assert web.service.get_alarm(1)["require_human"] is False
    # unticked on a new alarm is the config's default (alarmd.redial.requireHuman), not a choice
    web.post("/alarms", {"time": "08:00", **WEEKDAYS, "to": "MOBILE"})
    assert web.service.get_alarm(2)["require_human"] is None
