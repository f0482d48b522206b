"""NMO's flags on the web page: a `secret` number never reaches it in any form (not in the HTML
source of any view), and a `hidden` one gets no test-call button."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarmd import clock
from alarmd.alarms.inputs import AlarmInput
from alarmd.store.models import Attempt, Occurrence
from tests.conftest import Home, twilio_block, wait_until
from tests.webapp import WebApp, web_app

SECRET = "+44 1122 334455"
SECRET_NAME = "OFFICE"
HIDDEN = "+44 7700 900777"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebApp]:
    (tmp_path / "home").mkdir()
    block = twilio_block(None)
    block["phoneNumbers"].append({"name": "PAGER", "number": HIDDEN, "hidden": True})
    with web_app(Home(tmp_path), block) as app:
        app.sign_in()
        service, now = app.service, clock.now()
        service.add_alarm(AlarmInput(to="OFFICE", daily="07:00", name="desk"), now)
        service.add_alarm(AlarmInput(to="MOBILE", daily="08:00", name="home", then="OFFICE"), now)
        service.add_alarm(AlarmInput(to="PAGER", daily="09:00", name="pager"), now)
        service.dial_now("OFFICE", now)
        wait_until(lambda: service.history()[0]["status"] == "dry-run")
        with service.sessions.begin() as db:
            # A Twilio error that names the secret number, as Twilio's own sentences do.
            db.add(Occurrence(claim_key="k", reason="alarm", alarm_id=1, alarm_name="desk", to_ref="OFFICE",
                              scheduled_at=now, status="failed", created_at=now, finished_at=now,
                              detail="Twilio refused: The number +441122334455 is unverified.",
                              attempts=[Attempt(number="+441122334455", number_name="OFFICE", dialer="twilio",
                                                started_at=now, status="error", error_code=21219,
                                                error_message="The number +441122334455 is unverified.")]))
        yield app


def views(web: WebApp) -> dict[str, str]:
    pages = {path: web.client.get(path) for path in ("/", "/history", "/alarms/1/edit", "/alarms/2/edit")}
    pages["confirm"] = web.post("/alarms/1/delete")
    pages["refused"] = web.post("/alarms/1/pause", {"until": "2020-01-01"})
    pages["bad form"] = web.post("/alarms", {"time": "07:00", "to": "OFFICE", "ring_seconds": "1"})
    for name, answer in pages.items():
        assert answer.status_code < 500, name
    return {name: answer.text for name, answer in pages.items()}


def digits_of(number: str) -> list[str]:
    plain = re.sub(r"\D", "", number)
    return [plain, plain[2:], plain[-6:], "334455", "***455", "1*** ***455"]


def test_a_secret_number_is_nowhere_in_the_html_source_of_any_view(web: WebApp) -> None:
    for name, html in views(web).items():
        flat = re.sub(r"[\s\-()]", "", html)
        for form in digits_of(SECRET):
            assert form not in html and form not in flat, (name, form)
        assert SECRET_NAME not in html, name
    assert "a private number" in web.client.get("/").text
    history = web.client.get("/history").text
    assert "calls a private number" not in history and history.count("a private number") >= 3


def test_the_pickers_offer_neither_secret_nor_hidden_numbers(web: WebApp) -> None:
    page = web.client.get("/").text
    options = re.findall(r'<option value="([^"]*)"', page)
    assert options == ["MOBILE", "", "MOBILE"]  # Call, then Fallback (None first)


def test_only_numbers_neither_hidden_nor_secret_get_a_test_call_button(web: WebApp) -> None:
    page = web.client.get("/").text
    assert re.findall(r"<button>(Test call [^<]*)</button>", page) == ["Test call MOBILE"]
    before = web.count("occurrences")
    for index in (1, 2):  # OFFICE (secret), PAGER (hidden): a hand-made post dials nothing
        assert web.post(f"/numbers/{index}/call").status_code == 404
    assert web.count("occurrences") == before


def test_editing_an_alarm_with_a_secret_number_keeps_it_unless_another_is_picked(web: WebApp) -> None:
    form = web.client.get("/alarms/1/edit").text
    assert '<option value="=" selected>a private number (unchanged)</option>' in form
    posted = {"time": "07:00", "to": "=", "name": "desk work", "tz": "Europe/London",
              **{f"day_{d}": "1" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    assert web.post("/alarms/1/edit", posted).status_code == 303
    assert web.rows("SELECT name, to_ref FROM alarms WHERE id = 1") == [("desk work", "OFFICE")]
    # the fallback of alarm 2 is secret: kept too
    fallback = web.client.get("/alarms/2/edit").text
    keep = r'<select id="f-then"[^>]*>\s*<option value="">None</option>\s*<option value="=" selected>'
    assert re.search(keep, fallback)
    web.post("/alarms/2/edit", {**posted, "to": "MOBILE", "then": "=", "name": "home"})
    assert web.rows("SELECT then_ref FROM alarms WHERE id = 2") == [("OFFICE",)]
    web.post("/alarms/1/edit", {**posted, "to": "MOBILE"})
    assert web.rows("SELECT to_ref FROM alarms WHERE id = 1") == [("MOBILE",)]


def test_a_hidden_number_is_named_on_its_alarm(web: WebApp) -> None:
    assert "calls PAGER" in web.client.get("/").text


def test_a_number_made_secret_by_a_reload_leaves_the_page_at_once(tmp_path: Path) -> None:
    from alarmd.config.settings import load_settings

    (tmp_path / "home").mkdir()
    home = Home(tmp_path)
    with web_app(home, twilio_block(None)) as app:
        app.sign_in()
        app.service.add_alarm(AlarmInput(to="MOBILE", daily="07:00", name="wake"), clock.now())
        assert "calls MOBILE" in app.client.get("/").text
        block = twilio_block(None)
        block["phoneNumbers"][0]["secret"] = True
        home.write_config(block)
        app.service.apply_settings(load_settings(home.config_path, env={"HOME": str(home.root / "home")}))
        page = app.client.get("/").text
        assert "MOBILE" not in page and "7700900123" not in re.sub(r"\D", "", page)
        assert "calls a private number" in page
