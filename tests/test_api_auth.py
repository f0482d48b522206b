"""Who may use the API: the bearer token on everything but /healthz and /openapi.json,
and no listening beyond loopback without a token configured on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.apiapp import LiveApi, live_api
from tests.conftest import API_TOKEN, Home, free_port, spawn, twilio_block

REFUSED = {"error": "A valid bearer token is required (Authorization: Bearer TOKEN)."}


@pytest.fixture
def api(home: Home) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(None)) as live:
        yield live


@pytest.fixture(scope="module")
def read_only_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """One API for the tests that only read (every request refused, or a GET): nothing they do
    stores anything, which the token test checks at its end."""
    root = tmp_path_factory.mktemp("read-only")
    (root / "home").mkdir()
    with live_api(Home(root), twilio_block(None)) as live:
        yield live


def operations(api: LiveApi) -> list[tuple[str, str]]:
    with api.anonymous() as anonymous:
        spec = anonymous.get("/openapi.json").json()
    return [(method.upper(), path.replace("{ref}", "1").replace("{x}", "0"))
            for path, item in spec["paths"].items() for method in item if path != "/healthz"]


@pytest.mark.xdist_group("api_auth_read_only")
@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer wrong-token", f"Basic {API_TOKEN}", f"Bearer {API_TOKEN}x",
    f"Bearer {API_TOKEN[:-1]}", f"Token {API_TOKEN}",
])
def test_every_path_but_healthz_and_openapi_wants_the_token(read_only_api: LiveApi,
                                                            authorization: str | None) -> None:
    api = read_only_api
    headers = {"Authorization": authorization} if authorization is not None else {}
    with api.anonymous() as anonymous:
        found = operations(api)
        assert len(found) == 17  # 15, and the web page's sign-in link and sign-out-all
        for method, path in found:
            # A body that would otherwise be malformed, oversized or invalid: 401 comes first.
            for body in (b'{"to": 0, "at": "2030-01-01T07:00Z"}', b"{not json", b"x" * 20_000):
                response = anonymous.request(method, path, content=body, headers=headers)
                assert (response.status_code, response.json()) == (401, REFUSED), (method, path)
        assert anonymous.get("/v2/unknown", headers=headers).status_code == 401
        assert anonymous.get("/healthz", headers=headers).status_code == 200
        assert anonymous.get("/openapi.json", headers=headers).status_code == 200
    assert api.count("alarms") == 0 and api.count("occurrences") == 0


def test_the_right_token_opens_every_path(api: LiveApi) -> None:
    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00"})
    for scheme in ("Bearer", "bearer"):
        response = api.client.get("/v1/alarms", headers={"Authorization": f"{scheme} {API_TOKEN}"})
        assert response.status_code == 200
    for method, path in operations(api):
        if method == "DELETE":
            continue
        response = api.client.request(method, path)
        assert response.status_code < 500 and response.status_code != 401, (method, path, response.text)


@pytest.mark.xdist_group("api_auth_read_only")
def test_a_token_never_appears_in_an_answer(read_only_api: LiveApi) -> None:
    api = read_only_api
    answers = [api.client.get("/v1/status").text, api.client.get("/openapi.json").text]
    with api.anonymous() as anonymous:
        answers.append(anonymous.get("/v1/status", headers={"Authorization": "Bearer leaked"}).text)
    assert not any(API_TOKEN in text or "leaked" in text for text in answers)


# --- listening beyond loopback -----------------------------------------------------------


def run_daemon(home: Home) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", "alarmd", "run"], env=home.env(),
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.system
def test_it_refuses_a_non_loopback_address_without_a_configured_token(home: Home) -> None:
    home.write_config(listen=f"0.0.0.0:{home.port}", apiToken=None)
    result = home.cli("run", check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "alarmd: alarmd.listen: 0.0.0.0 is not a loopback address; configure an API token")
    assert not home.db_path.exists()  # refused before anything was created


@pytest.mark.system
def test_a_generated_token_is_not_enough_to_listen_beyond_loopback(home: Home, start_daemon) -> None:
    home.write_config(apiToken=None)
    start_daemon().stop()  # on loopback it starts, and makes a token in its state directory
    token_file = home.root / "home" / ".local" / "state" / "alarmd" / "api-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    home.write_config(listen=f"0.0.0.0:{home.port}", apiToken=None)
    result = home.cli("run", check=False)
    assert result.returncode == 2 and "not a loopback address" in result.stderr


@pytest.mark.system
def test_with_a_configured_token_it_listens_beyond_loopback(home: Home) -> None:
    home.port = free_port()
    # Beyond loopback the traffic must also be encrypted: here by a (named) TLS proxy.
    home.write_config(listen=f"0.0.0.0:{home.port}", trustProxy="127.0.0.1")
    proc = run_daemon(home)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{home.port}/v1/numbers",
                                                 headers={"Authorization": f"Bearer {API_TOKEN}"})
                with urllib.request.urlopen(request, timeout=1) as response:
                    assert json.loads(response.read())["numbers"] == []
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
