"""Names that look like paths (issue 13 item 6).

A name with "/" was stored, and then no verb could reach the alarm by it: the daemon's
router read "wake/next" as the `next` route of alarm "wake", so `show` printed another
route's answer as an alarm ("Alarm: #None") and `next` died of a KeyError. Names that
cannot round-trip in a URL path segment are refused, and the CLI never prints an answer
of the wrong shape as an alarm.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from alarmd.cli.commands import cli
from tests.apiapp import LiveApi, live_api
from tests.conftest import API_TOKEN, Home, twilio_block


@pytest.fixture
def api(home: Home) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(None)) as live:
        yield live


@pytest.mark.parametrize("name", ["wake/next", "a\\b", "why?", "#1", "100%", "tab\there", "nul\x00", ".", ".."])
def test_a_name_that_cannot_be_a_path_segment_is_refused_with_one_sentence(api: LiveApi, name: str) -> None:
    added = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": name})
    assert added.status_code == 422
    assert set(added.json()) == {"error"}
    assert added.json()["error"].startswith(f"The name {name!r} cannot be used: an alarm name may not")
    assert api.count("alarms") == 0

    api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": "wake"})
    edited = api.client.patch("/v1/alarms/wake", json={"name": name})
    assert edited.status_code == 422
    assert api.rows("SELECT name FROM alarms") == [("wake",)]


def test_names_with_spaces_dots_and_other_scripts_still_work(api: LiveApi) -> None:
    for name in ("wake up", "v1.2", "réveil", "起床", "a-b_c"):
        added = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00", "name": name})
        assert added.status_code == 201, added.text
    from urllib.parse import quote
    for name in ("wake up", "v1.2", "réveil", "起床", "a-b_c"):
        assert api.client.get("/v1/alarms/" + quote(name, safe="")).json()["name"] == name


@pytest.mark.system
def test_the_cli_refuses_such_names_and_never_prints_another_routes_answer(
    home: Home, start_daemon
) -> None:
    home.write_config(twilio_block(None))
    start_daemon()
    home.cli("add", "--to", "0", "--daily", "07:00", "--name", "wake")

    added = home.cli("add", "--to", "0", "--daily", "07:00", "--name", "wake/next", check=False)
    assert (added.returncode, added.stdout) == (2, "")
    assert added.stderr.startswith("alarmd: The name 'wake/next' cannot be used") or \
        added.stderr.startswith("alarmd: the name 'wake/next' cannot be used")
    assert added.stderr.count("\n") == 1
    for verb in ("show", "next", "remove", "pause", "resume", "skip", "edit"):
        args = (verb, "wake/next") + (("--name", "x"),)[0] * (verb == "edit")
        result = home.cli(*args, check=False)
        assert (result.returncode, result.stdout) == (2, ""), (verb, result.stdout, result.stderr)
        assert result.stderr == "alarmd: no alarm name contains '/'; give the alarm's id or its name.\n"
    assert [a["name"] for a in home.cli_json("list")] == ["wake"]


class WrongShapes(BaseHTTPRequestHandler):
    """Something else answering at the daemon's address (another program, another version)."""

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"fire_times": [], "alarms": [{"fire_times": []}], "calls": [{}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("args", [
    ("show", "1"), ("next", "1"), ("remove", "1"), ("pause", "1"), ("resume", "1"), ("skip", "1"),
    ("edit", "1", "--name", "x"), ("add", "--to", "0", "--daily", "07:00"), ("list",), ("list", "--json"),
    ("show", "1", "--json"), ("history",), ("dial", "0"), ("status",),
])
def test_an_answer_of_the_wrong_shape_is_never_printed_as_an_alarm(home: Home, args: tuple[str, ...]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", home.port), WrongShapes)
    # A short poll: shutdown() waits for the serving loop's next look, half a second by default.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        home.write_config(twilio_block(None))
        # click's runner in this process: the same verbs, client and HTTP as the command.
        result = CliRunner().invoke(cli, list(args), env={"ALARMD_CONFIG": str(home.config_path),
                                                          "ALARMD_API_TOKEN": API_TOKEN, "NO_COLOR": "1"})
    finally:
        server.shutdown()
        server.server_close()
    assert (result.exit_code, result.stdout) == (1, ""), result.stdout
    assert result.stderr.count("\n") == 1 and "is not alarmd's answer" in result.stderr, result.stderr
    assert "None" not in result.stderr and "KeyError" not in result.stderr
