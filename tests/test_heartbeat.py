"""The dead-man's switch (issue 12 item 5): pings at a local stand-in of a healthchecks.io check."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alarmd.config.settings import HeartbeatSettings
from alarmd.daemon.heartbeat import Heartbeat
from tests.conftest import API_TOKEN, AUTH_TOKEN, Home, twilio_block, wait_until
from tests.twilio_standin import TwilioStandin, unverified

CHECK = "/ping/0f3c2a8e-5b1d-4c6e-9a7f-2d8b1e4c6a90"
OFFICE_DIGITS = ("441122334455", "1122 334455", "01122 334455")


@dataclass
class Ping:
    method: str
    path: str
    body: str


@dataclass
class CheckStandin:
    """A healthchecks.io check: records every ping; `hang` makes it answer that late."""

    hang: float = 0.0
    pings: list[Ping] = field(default_factory=list)

    def __post_init__(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                standin.pings.append(Ping(self.command, self.path, body))
                time.sleep(standin.hang)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            do_GET = do_POST = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{CHECK}"

    def paths(self) -> list[str]:
        return [p.path.removeprefix(CHECK) or "/" for p in list(self.pings)]

    def fails(self) -> list[Ping]:
        return [p for p in list(self.pings) if p.path == CHECK + "/fail"]


@pytest.fixture
def check() -> Iterator[CheckStandin]:
    standin = CheckStandin()
    yield standin
    standin.server.shutdown()
    standin.server.server_close()


def configure(home: Home, standin: TwilioStandin | None, check: CheckStandin, **extra: Any) -> None:
    home.write_config(twilio_block(standin), heartbeat={"url": check.url, "everySeconds": 1},
                      redial={"pollSeconds": 0.05, "pollMarginSeconds": 1}, **extra)


@pytest.mark.system
def test_it_pings_start_then_every_period_and_fails_when_a_call_fails_for_good(
    home: Home, standin: TwilioStandin, check: CheckStandin, start_daemon
) -> None:
    configure(home, standin, check)
    daemon = start_daemon()
    wait_until(lambda: check.paths()[:1] == ["/start"] and check.paths().count("/") >= 2, timeout=10)
    assert f"heartbeat: pinging 127.0.0.1:{check.server.server_address[1]} every 1 s" in daemon.log()
    assert all(p.method == "GET" for p in check.pings)

    standin.create_script.append(unverified("+441122334455"))  # Twilio refuses for good
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    home.cli("add", "--at", at, "--to", "OFFICE", "--name", "wake")
    (fail,) = wait_until(check.fails, timeout=15)
    assert fail.method == "POST" and "\n" not in fail.body
    assert fail.body.startswith("occurrence 1 (OFFICE (+44 1** *** *455)): failed: Twilio refused: ")
    for secret in (*OFFICE_DIGITS, AUTH_TOKEN, API_TOKEN):
        assert secret not in fail.body
    beats = check.paths().count("/")
    wait_until(lambda: check.paths().count("/") > beats)  # the next period says it is up again
    assert check.url not in daemon.log()  # the check's URL is all it takes to ping it


@pytest.mark.system
def test_it_fails_with_the_reason_while_the_database_is_locked(
    home: Home, check: CheckStandin, start_daemon
) -> None:
    configure(home, None, check)
    start_daemon()
    wait_until(lambda: "/" in check.paths())
    holder = sqlite3.connect(home.db_path, timeout=10, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        (fail,) = wait_until(lambda: check.fails()[:1], timeout=10)
        assert fail.body == "the database is unavailable (database is locked)"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    seen = len(check.pings)
    wait_until(lambda: [p.path for p in check.pings[seen:]].count(CHECK) >= 1, timeout=10)


@pytest.mark.system
def test_it_fails_with_the_reason_when_the_daemon_stops_on_an_error(home: Home, check: CheckStandin) -> None:
    configure(home, None, check)
    with socket.socket() as taken:  # something else already listens on the daemon's port
        taken.bind(("127.0.0.1", home.port))
        taken.listen()
        result = subprocess.run([sys.executable, "-m", "alarmd", "run"], env=home.env(), capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 1
    assert check.paths()[0] == "/start"
    (fail,) = check.fails()
    assert fail.body == f"alarmd stopped on an error: the API could not listen on 127.0.0.1:{home.port}"


@pytest.mark.system
def test_it_fails_with_the_reason_when_the_daemon_cannot_open_its_database(home: Home, check: CheckStandin) -> None:
    (home.root / "not-a-directory").write_text("")
    configure(home, None, check, database=str(home.root / "not-a-directory" / "alarmd.db"))
    result = subprocess.run([sys.executable, "-m", "alarmd", "run"], env=home.env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (fail,) = check.fails()
    assert fail.body.startswith("alarmd stopped on an error: ConfigError: alarmd.database: cannot create ")


def test_nothing_is_sent_and_no_thread_started_without_a_url(check: CheckStandin) -> None:
    heartbeat = Heartbeat(HeartbeatSettings(url=None))
    heartbeat.start()
    heartbeat.check(lambda: None)
    heartbeat.fail("a call failed")
    heartbeat.stop(1.0)
    assert not heartbeat.enabled and heartbeat.describe() == "off (alarmd.heartbeat.url is not set)"
    assert "heartbeat" not in [t.name for t in threading.enumerate()]
    assert check.pings == []


@pytest.mark.system
def test_a_ping_never_waits_for_a_slow_check(check: CheckStandin) -> None:
    check.hang = 1.0
    heartbeat = Heartbeat(HeartbeatSettings(url=check.url, every_seconds=1), redact=lambda t: t.replace("9", "*"))
    heartbeat.start()
    started = time.monotonic()
    for _ in range(40):  # far more than the queue holds: the extra ones are dropped, not waited for
        heartbeat.beat()
        heartbeat.fail("call to +4479 failed\nfor good")
    # Under 0.9 s: one ping waited for would take the check's 1 s hang; the rest is the
    # loop's own cost, which a loaded machine stretches.
    assert time.monotonic() - started < 0.9
    wait_until(check.fails)
    assert check.fails()[0].body == "call to +447* failed for good"  # redacted, on one line
    check.hang = 0.0
    heartbeat.stop(5.0)
    assert "heartbeat" not in [t.name for t in threading.enumerate()]


def test_the_heartbeat_keys_are_checked_and_a_bad_url_is_not_echoed(home: Home) -> None:
    from alarmd.config.settings import load_settings
    from alarmd.errors import ConfigError

    env = {"HOME": str(home.root / "home")}
    home.write_config()
    assert load_settings(home.config_path, env=env).heartbeat == HeartbeatSettings(None, 60)
    home.write_config(heartbeat={"url": "https://hc-ping.com/abc/", "everySeconds": 30})
    assert load_settings(home.config_path, env=env).heartbeat == HeartbeatSettings("https://hc-ping.com/abc", 30)
    home.write_config(heartbeat={"url": "hc-ping.com/secret-uuid"})
    with pytest.raises(ConfigError, match=r"^alarmd\.heartbeat\.url: expected an http\(s\) URL\.$"):
        load_settings(home.config_path, env=env)
    for bad in (0, 1.5, "60", True):
        home.write_config(heartbeat={"url": "https://hc-ping.com/abc", "everySeconds": bad})
        with pytest.raises(ConfigError, match=r"^alarmd\.heartbeat\.everySeconds: "):
            load_settings(home.config_path, env=env)
