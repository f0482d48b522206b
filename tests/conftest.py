"""Shared fixtures: the Twilio stand-in, config files, and real daemon/CLI subprocesses."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakeclock import FakeClock, fake_clock
from tests.twilio_standin import TwilioStandin

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "s3cret-auth-token-0123456789abcd"
API_TOKEN = "test-api-token-abcdefghijklmnop"
NUMBER_FROM = "+1 415 555 0100"
MOBILE = "+44 7700 900123"
OFFICE = "+44 1122 334455"


# Ports for the daemons and servers a test starts. They are taken below Linux's ephemeral
# range (32768-60999), so a port handed out here cannot meanwhile become the local end of
# some outgoing connection before the daemon binds it; each xdist worker has a block of its
# own, so two workers never hand out the same port; within the block a random start (another
# run on the same machine starts elsewhere), then port after port, each checked free.
PORT_BASE = 20_000
PORTS_PER_WORKER = 400
_next_port = itertools.count(random.randrange(PORTS_PER_WORKER))


def worker_number() -> int:
    """0, 1, ... for xdist's gw0, gw1, ...; 0 without xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) if name[2:].isdigit() else 0


def free_port() -> int:
    first = PORT_BASE + PORTS_PER_WORKER * (worker_number() % 30)
    for _ in range(PORTS_PER_WORKER):
        port = first + next(_next_port) % PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {first}-{first + PORTS_PER_WORKER - 1}")


def require(condition: object, reason: str) -> None:
    """Skip the test when `condition` is false, with `reason`; under CI=true fail it instead.

    For what a test needs from the machine (a tool, a library, a kernel feature): a
    developer's machine may lack it, CI's must not (.ci/run installs it), so nothing skips
    there unnoticed.
    """
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: tests do not skip in CI)", pytrace=False)
    pytest.skip(reason)


def wait_until(condition: Any, timeout: float = 10.0) -> Any:
    """Poll `condition` until it is truthy and return that value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true after {timeout}s")


def twilio_block(standin: TwilioStandin | None, **overrides: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "enabled": standin is not None,
        "accountSID": ACCOUNT_SID,
        "authToken": AUTH_TOKEN,
        "numberFrom": NUMBER_FROM,
        "phoneNumbers": [
            {"name": "MOBILE", "number": MOBILE},
            {"name": "OFFICE", "number": OFFICE, "secret": True},
        ],
    }
    if standin is not None:
        block["apiBaseURL"] = standin.url
    block.update(overrides)
    return block


@dataclass
class Home:
    """A user's world for one test: HOME, a config file, a state directory."""

    root: Path
    port: int = field(default_factory=free_port)
    # A PostgreSQL database instead of the SQLite file (tests.postgres.on_each_engine).
    database_url: str | None = None

    @classmethod
    def made_in(cls, root: Path) -> Home:
        """A home in `root`, with its HOME directory made (empty)."""
        (root / "home").mkdir()
        return cls(root)

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def db_path(self) -> Path:
        return self.root / "state" / "alarmd.db"

    def write_config(self, twilio: dict[str, Any] | None = None, **alarmd: Any) -> Path:
        own = {"listen": f"127.0.0.1:{self.port}", "apiToken": API_TOKEN,
               "database": self.database_url or str(self.db_path), "timezone": "Europe/London"}
        own.update(alarmd)
        data: dict[str, Any] = {"alarmd": own}
        if twilio is not None:
            data["twilio"] = twilio
        # NMO keeps other modules' settings in the same file; alarmd must ignore them.
        data["weather"] = {"enabled": True, "city": "London"}
        self.config_path.write_text(json.dumps(data, indent=2))
        return self.config_path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ALARMD_", "TWILIO_")) and k not in (
                   "STATE_DIRECTORY", "CONFIGURATION_DIRECTORY", "CREDENTIALS_DIRECTORY",
                   "XDG_CONFIG_HOME", "XDG_STATE_HOME", "NOTIFY_SOCKET", "JOURNAL_STREAM")}
        env["HOME"] = str(self.root / "home")
        if self.config_path.exists():
            env["ALARMD_CONFIG"] = str(self.config_path)
        env.update(extra)
        return env

    def cli(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        require_system("an alarmd CLI process")
        result = subprocess.run([sys.executable, "-m", "alarmd", *args], env=self.env(**env),
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"alarmd {' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """A request to the running daemon's API with the token, as the CLI sends it: the
        status and the JSON answer (None when empty), refusals included."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()
        return status, json.loads(answer) if answer else None

    def migrated(self) -> Home:
        """Put a database at the newest schema in place, unless one is there (SQLite only).

        For tests that run the service in this process: a copy of a file migrated once per
        worker, since an Alembic upgrade per test would cost more than most such tests.
        The migration tests, and any daemon started on an empty home, still upgrade.
        """
        if self.database_url is None and not self.db_path.exists():
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_template(), self.db_path)
        return self

    @property
    def database(self) -> str:
        """What `alarmd.database` says: the PostgreSQL URL, or the SQLite file."""
        return self.database_url or str(self.db_path)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one statement on the home's database, whichever engine, and commit; its rows.

        `?` placeholders; an aware datetime is stored as the daemon stores it (UTC; naive
        text on SQLite). Values come back as each driver gives them.
        """
        if self.database_url is None:
            with sqlite3.connect(self.db_path) as db:
                naive = [p.astimezone(UTC).replace(tzinfo=None) if isinstance(p, datetime) else p for p in params]
                result = db.execute(sql, naive).fetchall()
            db.close()
            return result
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description is not None else []


def on_a_terminal(home: Home, command: list[str], *args: str, **env: str) -> str:
    """Run `command` with its stdout on a pseudo-terminal; what it wrote there."""
    leader, follower = os.openpty()
    try:
        subprocess.run([*command, *args], env=home.env(**env), stdout=follower, stderr=subprocess.PIPE,
                       timeout=60, check=True)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


# The test being run (its fixtures' set-up included), so that spawn() and Home.cli can
# refuse to start a process for a test left out of the `system` tier.
_current: list[pytest.Item] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    _current[:] = [item]


def pytest_runtest_teardown() -> None:
    _current.clear()


def require_system(what: str) -> None:
    """Fail a test that starts `what` unless it is marked system, so the fast tier stays fast."""
    if _current and _current[0].get_closest_marker("system") is None:
        pytest.fail(f"{_current[0].nodeid} starts {what}: mark it @pytest.mark.system", pytrace=False)


# Every process the tests start through spawn(), to be killed at the end of the run if it
# is still running.
_spawned: list[subprocess.Popen[Any]] = []


def spawn(args: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """subprocess.Popen, in a session (and process group) of its own, swept at the end of the run.

    A test stopped by pytest-timeout (or an error) before its own cleanup leaves the process
    running; it and anything it started are then killed by kill_group when the session ends
    or the worker exits, so no daemon outlives the run.
    """
    require_system(f"a process ({args[1:3]})")
    _spawned[:] = [running for running in _spawned if running.poll() is None]
    proc = subprocess.Popen(args, start_new_session=True, **popen)
    _spawned.append(proc)
    return proc


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the process group `proc` leads and reap `proc` (only while it is not yet
    reaped, so its id cannot have been handed to another process)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def sweep_spawned() -> None:
    while _spawned:
        kill_group(_spawned.pop())


atexit.register(sweep_spawned)


def pytest_sessionfinish() -> None:
    sweep_spawned()


class Daemon:
    """`alarmd run` as a real subprocess (in its own process group), stopped with SIGTERM."""

    def __init__(self, home: Home, **env: str):
        self.home = home
        self.log_path = home.root / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        self.proc = spawn([sys.executable, "-m", "alarmd", "run"], env=home.env(**env),
                          stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self.started_in = self._wait_healthy()
        except BaseException:
            # Not handed to the test, so nothing else would stop it or close its log (an
            # unclosed file is a ResourceWarning, an error, in whichever test runs next).
            self.stop(signal.SIGKILL)
            raise

    def _wait_healthy(self, timeout: float = 20.0) -> float:
        start = time.monotonic()
        url = f"http://127.0.0.1:{self.home.port}/healthz"
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"daemon not healthy after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Send `sig`; the exit status and the seconds it took to exit."""
        start = time.monotonic()
        if self.proc.poll() is None:
            if sig == signal.SIGKILL:
                kill_group(self.proc)
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
        self._log.close()
        return self.proc.returncode, time.monotonic() - start


# Servers run in this process (tests/apiapp.py, tests/cli_harness.py) that were asked to
# stop and are still finishing; joined once, at the end of the session.
_stopping_servers: list[threading.Thread] = []


def stop_server(server: Any, thread: threading.Thread) -> None:
    """Ask an in-process uvicorn server to exit, without waiting for it there and then.

    uvicorn's exit takes 0.1-0.2 s of fixed sleeps (its 0.1 s tick, then a 0.1 s pause
    before it closes connections); no test needs them over, so they pass while the next
    test runs. Its clients are closed by then, and free_port does not hand out a port that
    is still bound.
    """
    server.should_exit = True
    _stopping_servers.append(thread)


@pytest.fixture(scope="session", autouse=True)
def _servers_stopped() -> Iterator[None]:
    yield
    for thread in _stopping_servers:
        thread.join(5)


_template_dir: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _template_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    _template_dir.append(tmp_path_factory.mktemp("migrated"))


def migrated_template() -> Path:
    """A SQLite file upgraded to the newest revision, made on first use in this worker.

    Closed before it is copied, so its WAL is checkpointed into the file and a copy is whole.
    """
    from alarmd.store import db
    from alarmd.store.revision import HEAD

    path = _template_dir[-1] / "alarmd.db"
    if not path.exists():
        building = path.with_name("building.db")
        engine = db.make_engine(building)
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()
        with sqlite3.connect(building) as check:
            assert check.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        check.close()
        building.rename(path)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.made_in(tmp_path)


@contextlib.contextmanager
def dry_run_daemon(root: Path, *commands: tuple[str, ...]) -> Iterator[Home]:
    """A dry-run daemon in a home made in `root`, after these `alarmd` command lines; then stopped.

    For a module's tests that share one daemon (a module-scoped fixture)."""
    home = Home.made_in(root)
    home.write_config(twilio_block(None))
    daemon = Daemon(home)
    try:
        for command in commands:
            home.cli(*command)
        yield home
    finally:
        daemon.stop()


@pytest.fixture
def standin() -> Iterator[TwilioStandin]:
    with TwilioStandin() as server:
        yield server


@pytest.fixture
def fake(standin: TwilioStandin) -> Iterator[FakeClock]:
    """alarmd's clock and the stand-in's are one fake clock until the test ends (tests/fakeclock.py)."""
    with fake_clock() as clock:
        standin.clock = clock.time
        yield clock


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons started in a test; any still running at the end are killed.

    Killed, not stopped: nothing is checked after the test, and a clean stop (the API's
    exit, a call being followed told to stop) takes 0.3-0.7 s. Tests that check a stop
    call Daemon.stop themselves.
    """
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop(signal.SIGKILL)


@pytest.fixture
def start_daemon(home: Home, daemons: list[Daemon]) -> Any:
    def start(**env: str) -> Daemon:
        daemon = Daemon(home, **env)
        daemons.append(daemon)
        return daemon

    return start
