"""The web page's sign-in, through Starlette's TestClient over the daemon's joined app: the
token, one-time links, sessions that expire and are revoked, the throttle, and the cookie."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from alarmd import clock
from alarmd.alarms.signin import digest
from tests.conftest import API_TOKEN, Home, twilio_block
from tests.webapp import WebApp, web_app

BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebApp]:
    (tmp_path / "home").mkdir()
    with web_app(Home(tmp_path), twilio_block(None)) as app:
        yield app


def test_it_sends_an_unsigned_visit_to_the_login_page(web: WebApp) -> None:
    for path in ("/", "/history", "/alarms/1/edit"):
        answer = web.client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path
    login = web.client.get("/login")
    assert login.status_code == 200
    assert "<label for=\"token\">API token</label>" in login.text
    assert "<button class=\"primary\">Sign in</button>" in login.text


def test_it_signs_in_with_the_token_into_an_httponly_lax_cookie_that_holds_a_random_id(web: WebApp) -> None:
    token = web.csrf("/login")
    answer = web.client.post("/login", data={"token": API_TOKEN, "csrf": token})
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("alarmd_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes and "secure" not in attributes
    assert "samesite=lax" in cookie.lower() and "max-age=2592000" in cookie.lower()  # 30 days
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert API_TOKEN not in cookie and len(session_id) >= 40
    # Stored as a digest only: a copy of the database signs nobody in.
    assert web.rows("SELECT id_hash FROM web_sessions") == [(digest(session_id),)]
    assert web.client.get("/").status_code == 200


def test_it_answers_a_wrong_token_with_one_sentence_and_no_session(web: WebApp) -> None:
    answer = web.client.post("/login", data={"token": "not-the-token", "csrf": web.csrf("/login")})
    assert answer.status_code == 401
    assert "That is not the API token" in answer.text and "Traceback" not in answer.text
    assert "not-the-token" not in answer.text
    assert web.count("web_sessions") == 0
    assert not any(c.startswith("alarmd_session=") for c in answer.headers.get_list("set-cookie"))


def test_it_refuses_repeated_wrong_tokens_with_429_and_retry_after_without_waiting(web: WebApp) -> None:
    for _ in range(5):
        assert web.client.post("/login", data={"token": "guess", "csrf": web.csrf("/login")}).status_code == 401
    refused = web.client.post("/login", data={"token": API_TOKEN, "csrf": web.csrf("/login")})
    assert refused.status_code == 429
    assert 800 < int(refused.headers["retry-after"]) <= 900
    assert "Too many wrong tries" in refused.text
    assert web.count("web_sessions") == 0  # not even the right token, until the wait is over
    # A one-time link from this address waits too.
    path = web.client.post("/v1/web/links", headers=BEARER).json()["path"]
    assert web.client.get(path).status_code == 429


def test_it_signs_out_a_session_older_than_30_days(web: WebApp) -> None:
    old = web.service.open_web_session(clock.now() - timedelta(days=30, minutes=1))
    client = web.fresh_client(cookies={"alarmd_session": old})
    assert client.get("/").headers["location"] == "/login"
    fresh = web.service.open_web_session(clock.now() - timedelta(days=29))
    assert web.fresh_client(cookies={"alarmd_session": fresh}).get("/").status_code == 200


def test_a_one_time_link_signs_in_once(web: WebApp) -> None:
    link = web.client.post("/v1/web/links", headers=BEARER)
    assert link.status_code == 201 and link.json()["path"].startswith("/login?code=")
    first = web.client.get(link.json()["path"])
    assert (first.status_code, first.headers["location"]) == (303, "/")
    assert web.client.get("/").status_code == 200
    again = web.fresh_client().get(link.json()["path"])
    assert again.status_code == 400 and "expired or was already used" in again.text


def test_a_link_older_than_10_minutes_is_refused(web: WebApp) -> None:
    code, _ = web.service.issue_sign_in_link(clock.now() - timedelta(minutes=10, seconds=1))
    assert web.client.get(f"/login?code={code}").status_code == 400
    assert web.count("web_sessions") == 0


def test_making_a_link_needs_the_bearer_token(web: WebApp) -> None:
    web.sign_in()
    assert web.client.post("/v1/web/links").status_code == 401
    assert web.client.delete("/v1/web/sessions").status_code == 401


def test_sign_out_all_revokes_every_session(web: WebApp) -> None:
    phone, laptop = web.sign_in(web.fresh_client()), web.sign_in(web.fresh_client())
    answer = web.client.delete("/v1/web/sessions", headers=BEARER)
    assert answer.json() == {"signed_out": 2}
    assert phone.get("/").headers["location"] == "/login"
    assert laptop.get("/").headers["location"] == "/login"


def test_sign_out_ends_this_session_only(web: WebApp) -> None:
    phone, laptop = web.sign_in(web.fresh_client()), web.sign_in(web.fresh_client())
    answer = web.post("/logout", client=phone)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert phone.get("/").headers["location"] == "/login"
    assert laptop.get("/").status_code == 200


def test_a_session_cookie_never_stands_in_for_the_bearer_token(web: WebApp) -> None:
    web.sign_in()
    for method, path in (("GET", "/v1/alarms"), ("GET", "/v1/status"), ("POST", "/twilio/0")):
        assert web.client.request(method, path).status_code == 401, path
    assert web.count("occurrences") == 0
    # and the bearer token keeps working as it did
    assert web.client.get("/v1/alarms", headers=BEARER).json() == {"alarms": []}


def test_the_page_takes_no_bearer_token(web: WebApp) -> None:
    answer = web.fresh_client().get("/", headers=BEARER)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")


def test_the_login_form_refuses_a_post_without_its_csrf_token(web: WebApp) -> None:
    web.client.get("/login")
    for data in ({"token": API_TOKEN}, {"token": API_TOKEN, "csrf": "forged"}):
        answer = web.client.post("/login", data=data)
        assert answer.status_code == 403 and "nothing was changed" in answer.text
    assert web.count("web_sessions") == 0


def test_over_https_the_cookie_is_secure(web: WebApp) -> None:
    client = web.fresh_client(base_url="https://testserver")
    answer = client.post("/login", data={"token": API_TOKEN, "csrf": web.csrf("/login", client)})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("alarmd_session="))
    assert "secure" in cookie.lower()


def test_pages_forbid_other_origins_scripts_and_framing(web: WebApp) -> None:
    answer = web.client.get("/login")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["cache-control"] == "no-store" and answer.headers["referrer-policy"] == "no-referrer"
