"""The first five minutes: a fresh HOME, `alarmd config init`, and a first alarm that rings.

Real processes throughout: the daemon started with no config at all, the CLI refusing
with a sentence that names the fix, `config init` writing the starter config (0600,
refusing to overwrite it), the running daemon taking it live, and a dry-run ring seconds
later. Then init's other paths: no terminal, bad values, --force, --system, and the
questions it asks on a terminal.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MOBILE, OFFICE, Home, wait_until


def run(home: Home, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """`alarmd ARGS` with no terminal on stdin (so init never waits for an answer)."""
    result = subprocess.run([sys.executable, "-m", "alarmd", *args], env=home.env(**env), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"alarmd {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def user_config(home: Home) -> Path:
    return home.root / "home" / ".config" / "alarmd" / "config.json"


@pytest.mark.system
def test_a_fresh_home_goes_from_nothing_to_a_first_ring(home: Home, start_daemon) -> None:
    listen = {"ALARMD_LISTEN": f"127.0.0.1:{home.port}"}
    daemon = start_daemon(**listen)  # no config anywhere: dry-run, no numbers
    assert "DRY-RUN mode" in daemon.log().splitlines()[0]
    assert "check them with `alarmd config check --online`" in daemon.log().splitlines()[0]

    refused = run(home, "add", "--at", "in 1m", "--to", "0", check=False, **listen)
    assert refused.returncode == 2
    assert refused.stderr == ("alarmd: There is no phone number 0: twilio.phoneNumbers is empty; run "
                              "`alarmd config init --number NUMBER` to write a config with your number.\n")

    init = run(home, "config", "init", "--number", MOBILE, **listen)
    path = user_config(home)
    assert path.stat().st_mode & 0o777 == 0o600
    assert init.stdout.splitlines()[0] == f"Wrote {path} (mode 0600)."
    assert init.stdout.splitlines()[-1] == "The running daemon reloaded it. Next: `alarmd add --at \"in 1m\" --to 0`."
    written = json.loads(path.read_text())
    assert written["twilio"] == {"enabled": False, "accountSID": "", "authToken": "", "numberFrom": "",
                                 "callingURI": "http://twimlets.com/holdmusic?Bucket=com.twilio.music.ambient",
                                 "phoneNumbers": [{"name": "MOBILE", "number": MOBILE}]}
    assert written["alarmd"]["timezone"]  # the system's zone

    again = run(home, "config", "init", "--number", OFFICE, check=False, **listen)
    assert (again.returncode, again.stdout) == (2, "")
    assert again.stderr == f"alarmd: {path} already exists; give --force to overwrite it.\n"
    assert json.loads(path.read_text()) == written

    started = time.monotonic()
    run(home, "add", "--at", "in 2s", "--to", "0", **listen)
    wait_until(lambda: "occurrence 1 (MOBILE (+44 7700 900123)): dry-run" in daemon.log(), timeout=15)
    assert time.monotonic() - started < 10
    assert [c["status"] for c in json.loads(run(home, "history", "--json", **listen).stdout)] == ["dry-run"]
    assert "config reloaded (alarmd config reload)" in daemon.log()

    # The file gone again: the daemon keeps what it read rather than fall back to calling nobody.
    path.unlink()
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "the config file is gone; a restart would run on the defaults" in daemon.log())
    assert "no phone number" not in run(home, "add", "--at", "in 1h", "--to", "0", **listen).stderr


@pytest.mark.system
def test_not_configured_sentences_name_the_fix(home: Home) -> None:
    missing = home.root / "nope.json"
    result = run(home, "--config", str(missing), "config", "check", check=False)
    assert (result.returncode, result.stderr) == (
        2, f"alarmd: {missing}: no such config file; `alarmd --config {missing} config init` writes one.\n")
    out = run(home, "config", "check").stdout.splitlines()
    assert out[0].startswith("no config file (defaults; `alarmd config init` writes one): OK; mode dry-run")
    assert out[1] == ("Nobody can be called yet: add your number to twilio.phoneNumbers (`alarmd config init "
                      "--number NUMBER` writes a config with it).")
    result = run(home, "list", check=False)
    assert result.returncode == 1 and "start the daemon once with `alarmd run`" in result.stderr


@pytest.mark.system
def test_without_a_terminal_the_number_is_an_option_and_bad_values_write_nothing(home: Home) -> None:
    for args, sentence in [
        ((), "alarmd: give --number NUMBER (with its country code, e.g. \"+44 7700 900123\"): there is no "
             "terminal to ask on.\n"),
        (("--number", "+44 12"), "alarmd: --number: '+44 12' is not a phone number; write it with its country "
                                 "code, e.g. \"+44 7700 900123\".\n"),
        (("--number", MOBILE, "--timezone", "Mars/Olympus"),
         "alarmd: --timezone: 'Mars/Olympus' is not an IANA time zone (e.g. \"Europe/London\").\n"),
        (("--number", MOBILE, "--name", "7"), "alarmd: --name: '7' is not a name; use a word such as MOBILE.\n"),
    ]:
        result = run(home, "config", "init", *args, check=False)
        assert (result.returncode, result.stderr, result.stdout) == (2, sentence, "")
    assert not user_config(home).exists()


@pytest.mark.system
def test_force_overwrites_and_config_wins(home: Home) -> None:
    run(home, "config", "init", "--number", MOBILE)
    run(home, "config", "init", "--number", OFFICE, "--name", "OFFICE", "--timezone", "Europe/Paris", "--force")
    written = json.loads(user_config(home).read_text())
    assert written["twilio"]["phoneNumbers"] == [{"name": "OFFICE", "number": OFFICE}]
    assert written["alarmd"] == {"timezone": "Europe/Paris"}
    assert user_config(home).stat().st_mode & 0o777 == 0o600

    elsewhere = home.root / "elsewhere" / "alarmd.json"
    out = run(home, "--config", str(elsewhere), "config", "init", "--number", MOBILE).stdout
    assert out.startswith(f"Wrote {elsewhere} (mode 0600).") and "Next: `alarmd run`" in out
    assert run(home, "--config", str(elsewhere), "config", "check").stdout.startswith(f"{elsewhere}: OK; mode dry-run")


@pytest.mark.system
def test_system_writes_the_services_layout(home: Home) -> None:
    etc = home.root / "etc" / "alarmd"
    out = run(home, "--config", str(etc / "config.json"), "config", "init", "--system", "--number", MOBILE).stdout
    config, token, api_token = etc / "config.json", etc / "twilio-auth-token", etc / "api-token"
    assert out.splitlines()[:3] == [f"Wrote {config} (mode 0644).", f"Wrote {token} (mode 0600).",
                                    f"Wrote {api_token} (mode 0600)."]
    assert [p.stat().st_mode & 0o777 for p in (config, token, api_token)] == [0o644, 0o600, 0o600]
    assert "authToken" not in config.read_text()  # readable by the service's user: no secret in it
    assert token.read_text() == ""  # dry-run until the account's token is written there
    secret = api_token.read_text().strip()
    assert len(secret) >= 32 and secret not in out
    # The service's view of it, as README's "Run it as a service" checks it.
    check = run(home, "config", "check", CONFIGURATION_DIRECTORY=str(etc), CREDENTIALS_DIRECTORY=str(etc),
                STATE_DIRECTORY=str(home.root / "state"))
    assert check.stdout.startswith(f"{config}: OK; mode dry-run (twilio.enabled is not true); 1 phone number;")

    again = run(home, "--config", str(config), "config", "init", "--system", "--number", OFFICE, "--force").stdout
    assert f"Kept {api_token}: it was already there, and a credential is never overwritten." in again
    assert api_token.read_text().strip() == secret  # NMO's token keeps working
    assert OFFICE in config.read_text()


@pytest.mark.system
def test_on_a_terminal_missing_values_are_asked_for(home: Home) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "alarmd", "config", "init"], env=home.env(), stdin=follower,
                            stdout=follower, stderr=follower)
    os.close(follower)
    seen = ""

    def expect(text: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + 20
        while text not in seen:
            ready, _, _ = select.select([leader], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"no {text!r} in {seen!r}")
            seen += os.read(leader, 4096).decode()

    try:
        expect("Your phone number, with its country code: ")
        os.write(leader, b"+44 12\n")
        expect("is not a phone number")  # asked again
        os.write(leader, MOBILE.encode() + b"\n")
        expect("A name for it [MOBILE]: ")
        os.write(leader, b"\n")
        expect("Time zone for alarms [")
        os.write(leader, b"America/New_York\n")
        expect("Next: `alarmd run`")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    written = json.loads(user_config(home).read_text())
    assert written["twilio"]["phoneNumbers"] == [{"name": "MOBILE", "number": MOBILE}]
    assert written["alarmd"] == {"timezone": "America/New_York"}


def test_the_readme_keeps_two_quick_start_commands_and_the_first_alarm_follows() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    sections = readme.split("\n## ")
    titles = [section.splitlines()[0] for section in sections]
    start = titles.index("Quick start")
    assert titles[start + 1] == "First alarm"

    def commands(section: str) -> list[str]:
        return [line.split("  #")[0].strip() for line in section.splitlines() if line.startswith("    ")]

    assert len(commands(sections[start])) == 2
    assert [" ".join(c.split()[:3]) for c in commands(sections[start + 1])] == [
        "alarmd config init", "alarmd run", "alarmd add --at", "alarmd config check"]
    assert commands(sections[start + 1])[-1] == "alarmd config check --online"
