"""Reloading the config without a restart: SIGHUP, `alarmd config reload` (POST /v1/reload).

Real daemon and CLI processes: a new number usable after either; a broken file refused
with exit 2 while the daemon runs on with the old config and every stored alarm; what
needs a restart said so; a call in flight finishing with the settings it started with;
RELOADING=1 then READY=1 to systemd. Then the pieces in-process: what counts as changed.
"""

from __future__ import annotations

import dataclasses
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from alarmd import clock
from alarmd.alarms.service import AlarmInput, AlarmService
from alarmd.calls.dialers import make_dialer
from alarmd.calls.live import LiveConfig, live_from
from alarmd.config import changes
from alarmd.config.settings import load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.errors import LimitExceeded
from alarmd.store.db import session_factory
from tests.conftest import MOBILE, OFFICE, Home, free_port, twilio_block, wait_until
from tests.twilio_standin import TwilioStandin

HOME_NUMBER = "+44 20 7946 0018"
FAST = {"pollSeconds": 0.1, "firstRetrySeconds": 0.1}


def only_mobile() -> dict[str, Any]:
    return twilio_block(None, phoneNumbers=[{"name": "MOBILE", "number": MOBILE}])


@pytest.mark.system
def test_sighup_and_config_reload_make_a_new_number_usable(home: Home, start_daemon) -> None:
    home.write_config(only_mobile())
    daemon = start_daemon()
    refused = home.cli("add", "--to", "OFFICE", "--at", "in 1h", check=False)
    assert refused.returncode == 2
    # The sentence names the fix: the file and key, and the command that reloads it.
    assert f"add it to twilio.phoneNumbers in {home.config_path}, then run `alarmd config reload`" in refused.stderr

    home.write_config(twilio_block(None))  # MOBILE and OFFICE
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "config reloaded (SIGHUP)" in daemon.log())
    assert daemon.proc.poll() is None  # SIGHUP used to end the daemon
    assert "changed twilio.phoneNumbers" in daemon.log()
    home.cli("add", "--to", "OFFICE", "--at", "in 1h", "--name", "office")

    home.write_config(twilio_block(None, phoneNumbers=[
        {"name": "MOBILE", "number": MOBILE}, {"name": "OFFICE", "number": OFFICE, "secret": True},
        {"name": "HOME", "number": HOME_NUMBER}]))
    out = home.cli("config", "reload").stdout
    assert out.startswith(f"Reloaded {home.config_path}: changed twilio.phoneNumbers; mode dry-run")
    assert "3 phone numbers." in out
    home.cli("add", "--to", "HOME", "--at", "in 2h", "--name", "home")
    assert [a["to"]["name"] for a in home.cli_json("list")] == ["OFFICE", "HOME"]


@pytest.mark.system
def test_a_broken_file_is_refused_and_the_daemon_keeps_the_old_config(home: Home, start_daemon) -> None:
    home.write_config(twilio_block(None))
    daemon = start_daemon()
    home.cli("add", "--to", "MOBILE", "--daily", "07:00", "--name", "wake")
    home.cli("add", "--to", "OFFICE", "--at", "in 3h", "--name", "later")
    before = home.cli_json("list")

    # A bad value: the daemon reads it, refuses it, and says so in its log.
    home.write_config(twilio_block(None, phoneNumbers=[{"name": "MOBILE", "number": "+44 12"}]))
    result = home.cli("config", "reload", check=False)
    assert result.returncode == 2
    assert result.stderr == ("alarmd: The config was not reloaded: twilio.phoneNumbers[0].number: \"+44 12\" "
                             "is not a valid phone number.\n")
    assert "config reload (alarmd config reload) refused: twilio.phoneNumbers[0].number" in daemon.log()
    assert "The old config stays in force." in daemon.log()

    # Not JSON at all, by SIGHUP: refused the same way, nobody to answer but the log.
    home.config_path.write_text('{"twilio": {')
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "config reload (SIGHUP) refused" in daemon.log())
    assert "not valid JSON" in daemon.log()
    # `config reload` cannot even find the daemon in such a file: the same sentence, exit 2.
    result = home.cli("config", "reload", check=False)
    assert result.returncode == 2 and "not valid JSON" in result.stderr and result.stderr.count("\n") == 1

    # The old config is in force: every stored alarm, both numbers, the daemon up.
    home.write_config(twilio_block(None))
    assert daemon.proc.poll() is None
    assert home.cli_json("list") == before
    home.cli("add", "--to", "OFFICE", "--at", "in 4h")
    assert "Traceback" not in daemon.log()


@pytest.mark.system
def test_what_needs_a_restart_is_said_and_kept(home: Home, start_daemon) -> None:
    home.write_config(twilio_block(None))
    daemon = start_daemon()
    old_listen = f"127.0.0.1:{home.port}"
    new_listen = f"127.0.0.1:{free_port()}"
    home.write_config(twilio_block(None), listen=new_listen, database=str(home.root / "other.db"),
                      apiToken="another-token-0123456789abcdef", timezone="Europe/Paris")
    # This CLI still finds the daemon where it listens, and with the token it has.
    out = home.cli("config", "reload", ALARMD_LISTEN=old_listen,
                   ALARMD_API_TOKEN="test-api-token-abcdefghijklmnop").stdout
    assert "changed alarmd.timezone" in out
    assert f"alarmd.listen needs a restart: still listening on {old_listen}, not {new_listen}." in out
    assert f"alarmd.database needs a restart: still using {home.db_path}." in out
    assert "the API token needs a restart: the daemon keeps the one it started with." in out
    assert "another-token" not in out + daemon.log()
    assert f"alarmd.listen needs a restart: still listening on {old_listen}" in daemon.log()
    assert not (home.root / "other.db").exists()
    # The default zone did change: a new alarm without --tz gets it.
    added = home.cli("add", "--to", "0", "--daily", "07:00", ALARMD_LISTEN=old_listen,
                     ALARMD_API_TOKEN="test-api-token-abcdefghijklmnop").stdout
    assert "Europe/Paris" in added


@pytest.mark.system
def test_a_call_in_flight_finishes_with_the_settings_it_started_with(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    standin.status_script = ["ringing"]  # until the test lets it go unanswered
    home.write_config(twilio_block(standin, callingURI="http://old.example/twiml"), redial=FAST)
    start_daemon()
    home.cli("add", "--to", "MOBILE", "--at", "now", "--attempts", "2", "--interval", "1s")
    first = standin.wait_for_creates(1)[0]
    assert first.field("Url") == "http://old.example/twiml"

    # Reloaded while the first call rings; then nobody answers it, and the alarm redials.
    home.write_config(twilio_block(standin, callingURI="http://new.example/twiml"), redial=FAST)
    assert "changed twilio.callingURI" in home.cli("config", "reload").stdout
    assert first.sid is not None
    standin.call_statuses[first.sid] = ["no-answer"]
    creates = standin.wait_for_creates(2)
    assert len(creates) == 2, "the redial did not happen"
    assert creates[1].field("Url") == "http://old.example/twiml"  # the alarm's redial: its own settings

    home.cli("dial", "MOBILE")  # new work: the new settings
    assert standin.wait_for_creates(3)[2].field("Url") == "http://new.example/twiml"


class NotifySocket:
    """systemd's end of $NOTIFY_SOCKET: every datagram, as key=value fields."""

    def __init__(self, path: Path):
        self.path = path
        self.messages: list[dict[str, str]] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            self.messages.append(dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line))

    def keys(self) -> list[str]:
        return [key for message in self.messages for key in ("READY", "RELOADING") if key in message]


@pytest.mark.system
def test_reload_tells_systemd_reloading_then_ready(home: Home, start_daemon) -> None:
    home.write_config(twilio_block(None))
    with tempfile.TemporaryDirectory(prefix="sdn") as short:  # sun_path is ~107 bytes
        listener = NotifySocket(Path(short) / "notify")
        daemon = start_daemon(NOTIFY_SOCKET=str(listener.path))
        wait_until(lambda: listener.keys() == ["READY"])
        before = time.monotonic()
        home.cli("config", "reload")
        assert listener.keys() == ["READY", "RELOADING", "READY"]
        reloading = next(m for m in listener.messages if "RELOADING" in m)
        # sd_notify(3): CLOCK_MONOTONIC in microseconds, the clock this process reads too.
        assert before <= int(reloading["MONOTONIC_USEC"]) / 1e6 <= time.monotonic()

        home.config_path.write_text(home.config_path.read_text().replace('"Europe/London"', '"Europe/Londn"'))
        assert home.cli("config", "reload", check=False).returncode == 2
        # Refused, and back to READY all the same: the daemon runs on.
        assert listener.keys() == ["READY", "RELOADING", "READY", "RELOADING", "READY"]
        assert listener.messages[-1]["STATUS"] == "no alarm due; dry-run"
        assert daemon.proc.poll() is None
        listener.sock.close()


# --- in-process: what a reload compares ---------------------------------------------------


def test_changed_keys_name_config_keys_and_restart_only_values_are_kept(home: Home) -> None:
    env = {"HOME": str(home.root / "home")}
    home.write_config(twilio_block(None))
    old = load_settings(home.config_path, env=env)
    home.write_config(twilio_block(None, callingURI="http://x.example/", authToken="rotated-token-456",
                                   enabled=True), listen="127.0.0.1:1", keepalive={"everyDays": 7},
                      redial={"intervalSeconds": 30}, limits={"callsPerHour": 5})
    new = load_settings(home.config_path, env=env)
    assert changes.changed_keys(old, new) == [
        "twilio.enabled", "twilio.authToken", "twilio.callingURI", "alarmd.keepalive.everyDays",
        "alarmd.redial.intervalSeconds", "alarmd.limits.callsPerHour", "alarmd.limits.dialsPerHour"]
    assert changes.restart_needed(old, new) == [
        f"alarmd.listen needs a restart: still listening on 127.0.0.1:{home.port}, not 127.0.0.1:1."]
    kept = changes.in_force(old, new)
    assert kept.client == old.client and kept.database == old.database
    assert dataclasses.replace(kept, client=new.client) == new
    assert changes.changed_keys(old, old) == []


@pytest.mark.system
def test_apply_settings_puts_in_force_everything_that_reloads(home: Home, standin: TwilioStandin) -> None:
    env = {"HOME": str(home.root / "home")}
    home.migrated().write_config(only_mobile(), keepalive={"enabled": False})
    settings = load_settings(home.config_path, env=env)
    engine = open_database(settings)
    service = AlarmService(session_factory(engine), make_dialer(settings.twilio), settings, phonebook_of(settings))
    loaded: list[object] = []
    service.on_settings_loaded(lambda: loaded.append(service.settings))
    now = clock.now()
    assert (service.status()["mode"], service.keepalive_status(now)["enabled"]) == ("dry-run", False)

    home.write_config(twilio_block(standin), timezone="Asia/Tokyo", limits={"callsPerHour": 2, "dialsPerHour": 1})
    new = load_settings(home.config_path, env=env)
    service.apply_settings(new)
    assert loaded == [new]  # the "settings were (re)loaded" hook ran, with the new ones in force
    status = service.status()
    assert (status["mode"], status["dry_run_reason"], status["timezone"]) == ("twilio", None, "Asia/Tokyo")
    assert service.keepalive_status(now)["enabled"] is True
    assert [n["name"] for n in service.numbers()] == ["MOBILE", "OFFICE"]
    assert service.add_alarm(AlarmInput(to="OFFICE", daily="07:00"), now)["tz"] == "Asia/Tokyo"
    service.dial_now("MOBILE", now)  # through the new dialer: Twilio, not dry-run
    assert standin.wait_for_creates(1)[0].field("To") == "+447700900123"
    wait_until(lambda: service.wait_idle(0.1))
    with pytest.raises(LimitExceeded):  # the new limit: one manual dial an hour
        service.dial_now("MOBILE", clock.now())
    engine.dispose()


def test_a_pinned_configuration_outlives_a_replace_on_its_own_thread_only(home: Home) -> None:
    home.write_config(twilio_block(None))
    first = live_from(load_settings(home.config_path, env={"HOME": str(home.root)}))
    second = live_from(load_settings(home.config_path, env={"HOME": str(home.root)}))
    holder = LiveConfig(first)
    seen: dict[str, object] = {}
    pinned, replaced, checked = threading.Event(), threading.Event(), threading.Event()

    def delivery() -> None:
        with holder.pinned():
            pinned.set()
            replaced.wait(5)
            seen["in flight"] = holder.get()
        seen["after"] = holder.get()
        checked.set()

    worker = threading.Thread(target=delivery)
    worker.start()
    assert pinned.wait(5)
    assert holder.replace(second) is first
    seen["new work"] = holder.get()
    replaced.set()
    checked.wait(5)
    worker.join(5)
    assert seen == {"in flight": first, "after": second, "new work": second}
