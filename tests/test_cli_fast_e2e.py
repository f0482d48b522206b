"""The verbs alarmd.cli.fast answers, as real subprocesses against a real daemon subprocess.

What such a process imports (neither click nor the server stack, the scheduler or the
twilio SDK), and that it prints, on a pipe and on a terminal, fails and exits exactly as
the same command line through the click commands does.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.conftest import Home, dry_run_daemon, free_port, on_a_terminal, twilio_block

HEAVY = {"click", "twilio", "apscheduler", "fastapi", "uvicorn", "starlette", "pydantic", "sqlalchemy",
         "phonenumbers", "alembic", "requests", "anyio", "h11"}
# The same command line through click: what `alarmd` ran for every verb before alarmd.cli.fast.
THROUGH_CLICK = [sys.executable, "-c",
                 "import sys; from alarmd.cli.commands import cli; cli.main(args=sys.argv[1:], prog_name='alarmd')"]
FAST = [sys.executable, "-m", "alarmd"]
# Far ahead, so that "LEFT" ("300 days 11h") reads the same in two runs a moment apart.
FAR = f"{date.today() + timedelta(days=300)} 07:00"


@pytest.fixture(scope="module")
def far_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """One daemon, with two alarms years ahead, for the tests that compare the two ways."""
    with dry_run_daemon(tmp_path_factory.mktemp("fast"),
                        ("add", "--to", "0", "--at", FAR, "--name", "far", "--say", "Wake up"),
                        ("add", "--to", "1", "--daily", "07:00", "--tz", "Europe/Paris", "--name", "paris"),
                        ("pause", "paris")) as home:
        yield home


def run(home: Home, command: list[str], *args: str) -> tuple[int, str, str]:
    done = subprocess.run([*command, *args], env=home.env(), capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def imported(home: Home, *args: str) -> set[str]:
    """Top-level packages an `alarmd` process imported, from `python -X importtime`."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "alarmd", *args], env=home.env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", done.stderr, re.MULTILINE)
    assert {"alarmd.cli.fast", "alarmd.cli.quick"} & set(names), "neither click-free path ran"
    return {name.split(".")[0] for name in names}


READING = [
    ["list"], ["--config", "CONFIG", "list"], ["list", "--json"], ["status"], ["show", "far"],
    ["show", "1", "--json"], ["show", "paris"], ["next"], ["next", "--count", "2", "--explain"],
    ["next", "paris", "--json"], ["history"], ["history", "--limit", "3", "--json"],
]
REFUSED = [
    ["show", "nosuch"], ["show", "a/b"], ["edit", "far"], ["edit", "far", "--no-then", "--then", "MOBILE"],
    ["add", "--to", "0"], ["add", "--to", "0", "--at", "07:00", "--daily", "07:00"],
    ["add", "--to", "0", "--daily", "07:00", "--days", "mon", "--cron", "0 7 * * *"],
    ["add", "--to", "PAGER", "--at", "in 1h"], ["skip", "far", "--on", "2030-01-06", "--from", "2030-01-06"],
    ["unskip", "far", "--from", "2030-01-06"], ["pause", "nosuch"], ["dial", "PAGER"], ["remove", "nosuch"],
    ["edit", "far", "--at", "not a time"], ["history", "--alarm", "nosuch"],
]


@pytest.mark.xdist_group("cli_fast_far")
def test_fast_prints_what_click_prints(far_home: Home) -> None:
    home = far_home
    for line in READING + REFUSED:
        args = [str(home.config_path) if word == "CONFIG" else word for word in line]
        fast, click = run(home, FAST, *args), run(home, THROUGH_CLICK, *args)
        assert fast == click, args
        assert fast[0] == 0 if line in READING else (fast[0] == 2 and fast[2].startswith("alarmd: ")), (args, fast)


@pytest.mark.xdist_group("cli_fast_far")
def test_fast_paints_a_terminal_as_click_does(far_home: Home) -> None:
    for line in (["show", "far"], ["list"], ["next", "--explain"], ["status"]):
        fast, click = on_a_terminal(far_home, FAST, *line), on_a_terminal(far_home, THROUGH_CLICK, *line)
        assert fast == click and "\x1b[" in fast, line


def test_with_no_daemon_fast_fails_as_click_does(home: Home) -> None:
    home.write_config(twilio_block(None), listen=f"127.0.0.1:{free_port()}")
    for line in (["show", "1"], ["next"], ["history", "--json"], ["add", "--to", "0", "--at", "in 1h"],
                 ["config", "reload"], ["web", "--no-browser"], ["--config", str(home.config_path), "status"]):
        fast, click = run(home, FAST, *line), run(home, THROUGH_CLICK, *line)
        assert fast == click, line
        assert fast[0] == 1 and "alarmd run" in fast[2] and fast[2].count("\n") == 1, (line, fast)


def test_every_verb_that_asks_the_daemon_imports_nothing_heavy(home: Home, start_daemon) -> None:
    home.write_config(twilio_block(None))
    start_daemon()
    lines = [
        ["add", "--to", "0", "--daily", "07:00", "--days", "mon-fri", "--name", "work", "--ring", "45s"],
        ["add", "--to", "MOBILE", "--at", "in 2h", "--name", "soon"], ["list"], ["--config", "CONFIG", "list"],
        ["status", "--json"], ["show", "work"], ["show", "1", "--json"], ["next"], ["next", "work", "--explain"],
        ["history"], ["edit", "work", "--interval", "3m", "--attempts", "2"], ["pause", "work", "--until", "in 3d"],
        ["resume", "work"], ["skip", "work"], ["unskip", "work"], ["dial", "0"], ["web", "--no-browser"],
        ["web", "--sign-out-all"], ["config", "reload"], ["remove", "soon"],
    ]
    for line in lines:
        args = [str(home.config_path) if word == "CONFIG" else word for word in line]
        heavy = imported(home, *args) & HEAVY
        assert heavy == set(), f"alarmd {' '.join(line)} imported {sorted(heavy)}"
    assert home.cli("list").stdout.rstrip().endswith("1 alarm listed.")  # the writes happened


def test_alarmd_run_fails_as_click_does_and_without_click(home: Home) -> None:
    """`alarmd run` starts the daemon without click; what it says when it cannot start is click's."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        cases = {"bad config": lambda: home.config_path.write_text("{not json"),
                 "not loopback": lambda: home.write_config(twilio_block(None), listen="0.0.0.0:8421", apiToken=""),
                 "port taken": lambda: home.write_config(twilio_block(None), listen=f"127.0.0.1:{port}")}
        for name, write in cases.items():
            write()
            for line in (["run"], ["--config", str(home.config_path), "run"]):
                fast, click = run(home, FAST, *line), run(home, THROUGH_CLICK, *line)
                assert fast[0] == click[0] != 0, (name, line, fast, click)
                assert last_line(fast[2]) == last_line(click[2]) and last_line(fast[2]), (name, fast, click)
        # What the daemon's process imported: not click (uvicorn's own import of it aside, not the commands).
        done = subprocess.run([*FAST[:1], "-X", "importtime", *FAST[1:], "run"], env=home.env(),
                              capture_output=True, text=True, timeout=60)
        assert "alarmd.cli.fast" in done.stderr and "alarmd.cli.commands" not in done.stderr
    finally:
        busy.close()


def last_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "import time:" not in line]
    return re.sub(r"\d{4}-\d\d-\d\d[ T][\d:.,]+", "TIME", lines[-1]) if lines else ""
