"""Every verb of `alarmd` as a real subprocess against a real daemon subprocess.

Also: what a CLI process imports (click, and nothing of the server stack, the scheduler
or the twilio SDK; `run` none of the other verbs' modules), the one line and exit status
of each refusal, and colour only on a terminal.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Home, dry_run_daemon, free_port, on_a_terminal, twilio_block
from tests.twilio_standin import TwilioStandin

# Every test here runs `alarmd` as a process, most against a daemon process.
pytestmark = pytest.mark.system

HEAVY = {"twilio", "apscheduler", "fastapi", "uvicorn", "starlette", "pydantic", "sqlalchemy",
         "phonenumbers", "alembic", "requests", "anyio", "h11"}
# Far ahead, so that "LEFT" ("300 days 11h") reads the same in two runs a moment apart.
FAR = f"{date.today() + timedelta(days=300)} 07:00"


# Runs `alarmd` as its script does, then writes the names in sys.modules to MODULES_OUT
# (python -X importtime does not list a module imported by importlib.import_module).
PROBE = ("import atexit, json, os, sys; "
         "atexit.register(lambda: open(os.environ['MODULES_OUT'], 'w').write(json.dumps(sorted(sys.modules)))); "
         "from alarmd.cli.entry import main; main()")


def imported_modules(home: Home, *args: str) -> list[str]:
    """The modules an `alarmd` process had imported when it exited."""
    out = home.root / "modules.json"
    result = subprocess.run([sys.executable, "-c", PROBE, *args], env=home.env(MODULES_OUT=str(out)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    names: list[str] = json.loads(out.read_text())
    assert "alarmd.cli.commands" in names  # the command ran
    return names


# Runs several `alarmd` command lines in one process, one after another as the script would,
# and writes, for each, its exit status, what it printed on stdout and on stderr, and the
# names it added to sys.modules, to RUNS_OUT. A module imported by one line stays imported
# for the next, so each line's names are those it was first to import (the first line's
# include the script's own): a heavy import is still charged to the first line making it.
BATCH = """
import contextlib, io, json, os, sys
seen, runs = set(sys.modules), []
from alarmd.cli.entry import main
for line in json.loads(os.environ["LINES"]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(line)
            status = 0
        except SystemExit as done:
            status = done.code if isinstance(done.code, int) else 1
    runs.append([status, out.getvalue(), err.getvalue(), sorted(set(sys.modules) - seen)])
    seen |= set(sys.modules)
with open(os.environ["RUNS_OUT"], "w") as file:
    json.dump(runs, file)
"""


@dataclass
class Run:
    """One command line's part of a batch: as subprocess.CompletedProcess, plus its new modules."""

    returncode: int
    stdout: str
    stderr: str
    modules: list[str]


def in_one_process(home: Home, lines: list[list[str]], **env: str) -> list[Run]:
    """Run these `alarmd` command lines in turn in one process: each line's outcome.

    Where a test checks many command lines one by one, each a start of Python, this starts
    one; the checks stay per command line."""
    out = home.root / "runs.json"
    result = subprocess.run([sys.executable, "-c", BATCH], env=home.env(RUNS_OUT=str(out), LINES=json.dumps(lines),
                            **env), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    runs = [Run(*run) for run in json.loads(out.read_text())]
    assert len(runs) == len(lines)
    return runs


def packages(names: list[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.fixture(scope="module")
def read_only_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """One daemon for the tests that only read: a weekday alarm, one 20 minutes ahead,
    one far ahead and one paused."""
    with dry_run_daemon(tmp_path_factory.mktemp("read-only"),
                        ("add", "--to", "0", "--daily", "07:00", "--days", "mon-fri", "--name", "work"),
                        ("add", "--to", "1", "--at", "in 20m", "--name", "soon"),
                        ("add", "--to", "0", "--at", FAR, "--name", "far", "--say", "Wake up"),
                        ("add", "--to", "1", "--daily", "07:00", "--tz", "Europe/Paris", "--name", "paris"),
                        ("pause", "paris")) as home:
        yield home


READING = [
    ["list"], ["--config", "CONFIG", "list"], ["list", "--json"], ["status"], ["status", "--json"], ["show", "far"],
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
    # click's own usage errors
    ["nosuch"], ["show"], ["show", "1", "2"], ["history", "--limit", "0"], ["add", "--to", "0", "--ring", "1x"],
    ["add", "--to", "0", "--attempts", "11"], ["add", "--to", "0", "--say", "  "], ["--config", "DIRECTORY", "list"],
]


# The tests on read_only_home only read: with --dist loadgroup they share one daemon.
@pytest.mark.xdist_group("cli_e2e_read_only")
def test_each_reading_verb_answers_and_each_refusal_is_one_line_with_exit_2(read_only_home: Home) -> None:
    home = read_only_home
    places = {"CONFIG": str(home.config_path), "DIRECTORY": str(home.root)}
    before = home.cli_json("list")
    runs = in_one_process(home, [[places.get(word, word) for word in line] for line in READING + REFUSED])
    for line, done in zip(READING + REFUSED, runs, strict=True):
        if line in READING:
            assert (done.returncode, done.stderr) == (0, "") and done.stdout.strip(), (line, done.stderr)
        else:
            assert done.returncode == 2 and done.stdout == "", (line, done)
            assert done.stderr.startswith("alarmd: ") and done.stderr.count("\n") == 1, (line, done.stderr)
    assert home.cli_json("list") == before


@pytest.mark.xdist_group("cli_e2e_read_only")
def test_config_from_the_environment_or_the_option_prints_the_same(read_only_home: Home) -> None:
    home = read_only_home
    verbs = [["list"], ["list", "--json"], ["status"], ["status", "--json"], ["next", "--explain"]]
    from_env = in_one_process(home, verbs)
    from_option = in_one_process(home, [["--config", str(home.config_path), *verb] for verb in verbs],
                                 ALARMD_CONFIG="")
    # Read from the environment once more after: a countdown ("LEFT") that turned a minute
    # between the runs matches one side or the other.
    from_env_again = in_one_process(home, verbs)
    for verb, env_run, option_run, env_again in zip(verbs, from_env, from_option, from_env_again, strict=True):
        assert env_run.returncode == option_run.returncode == 0, verb
        assert without_heartbeats(option_run.stdout) in (without_heartbeats(env_run.stdout),
                                                          without_heartbeats(env_again.stdout)), verb
        assert env_run.stdout.strip(), verb
        assert env_run.stderr == option_run.stderr == "", verb


def without_heartbeats(printed: str) -> str:
    """`status --json` as printed, less the instants of the nodes' heartbeats: the daemon writes
    one every few seconds, so two runs a moment apart may rightly show two."""
    if not printed.startswith("{"):
        return printed
    answer = json.loads(printed)
    for node in answer.get("nodes") or []:
        node.pop("last_heartbeat", None)
    return json.dumps(answer)


@pytest.mark.xdist_group("cli_e2e_read_only")
def test_a_terminal_is_painted(read_only_home: Home) -> None:
    for line in (["show", "far"], ["list"], ["next", "--explain"], ["status"]):
        assert "\x1b[" in run_on_a_terminal(read_only_home, *line), line


def test_with_no_daemon_each_verb_fails_in_one_line_with_exit_1(home: Home) -> None:
    home.write_config(twilio_block(None), listen=f"127.0.0.1:{free_port()}")
    for line in (["list"], ["status"], ["status", "--json"], ["show", "1"], ["next"], ["history", "--json"],
                 ["add", "--to", "0", "--at", "in 1h"], ["config", "reload"], ["web", "--no-browser"],
                 ["--config", str(home.config_path), "status"]):
        done = home.cli(*line, check=False)
        assert done.returncode == 1 and "alarmd run" in done.stderr, (line, done)
        assert done.stderr.startswith("alarmd: ") and done.stderr.count("\n") == 1, (line, done.stderr)
    # `status` says it on stdout too
    assert home.cli("status", check=False).stdout == "Daemon:     down\n"
    assert json.loads(home.cli("status", "--json", check=False).stdout)["daemon"] == "down"


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
    runs = in_one_process(home, [[str(home.config_path) if word == "CONFIG" else word for word in line]
                                 for line in lines])
    for line, run in zip(lines, runs, strict=True):
        assert run.returncode == 0, (line, run.stderr)
        heavy = packages(run.modules) & HEAVY
        assert heavy == set(), f"alarmd {' '.join(line)} imported {sorted(heavy)}"
        assert "alarmd.daemon" not in run.modules, line
    assert "alarmd.cli.commands" in runs[0].modules  # the commands ran
    assert home.cli("list").stdout.rstrip().endswith("1 alarm listed.")  # the writes happened


@pytest.mark.xdist_group("cli_e2e_read_only")
def test_each_verb_loads_its_own_module_only(read_only_home: Home) -> None:
    """The root group loads a verb's module when the verb is asked for, not before."""
    verb_modules = {"alarmd.cli.editing", "alarmd.cli.reading", "alarmd.cli.web", "alarmd.cli.configverbs",
                    "alarmd.cli.offline"}
    for line, own in ((["list"], "alarmd.cli.reading"), (["show", "work"], "alarmd.cli.reading"),
                      (["web", "--no-browser"], "alarmd.cli.web"), (["config", "show"], "alarmd.cli.configverbs")):
        assert verb_modules & set(imported_modules(read_only_home, *line)) == {own}, line


def test_alarmd_run_fails_in_one_sentence_and_loads_no_other_verb(home: Home) -> None:
    """Each case once: a failed `run` still imports the whole daemon, so each costs a start.
    The config is found from the environment, from --config, and (with the probe that lists
    the modules `run` loaded) from the environment again."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    out = home.root / "modules.json"
    probe = [sys.executable, "-c", PROBE, "run"]
    try:
        cases = [("bad config", lambda: home.config_path.write_text("{not json"), ["alarmd", "run"]),
                 ("not loopback", lambda: home.write_config(twilio_block(None), listen="0.0.0.0:8421", apiToken=""),
                  ["alarmd", "--config", str(home.config_path), "run"]),
                 ("port taken", lambda: home.write_config(twilio_block(None), listen=f"127.0.0.1:{port}"), probe)]
        for name, write, line in cases:
            write()
            if line[0] == "alarmd":
                done = home.cli(*line[1:], check=False)
            else:
                done = subprocess.run(line, env=home.env(MODULES_OUT=str(out)), capture_output=True, text=True,
                                      timeout=60)
            last = done.stderr.splitlines()[-1] if done.stderr else ""
            assert done.returncode != 0 and "alarmd: " in last, (name, line, done.stderr)
            assert "Traceback" not in done.stderr, (name, done.stderr)
        names = set(json.loads(out.read_text()))
        assert {"alarmd.cli.offline", "alarmd.daemon.main"} <= names
        assert names.isdisjoint({"alarmd.cli.editing", "alarmd.cli.reading", "alarmd.cli.configverbs",
                                 "alarmd.cli.web"})
    finally:
        busy.close()


def wall_time_from_now(hours: int, zone: str) -> datetime:
    """A wall time `hours` ahead: recurring alarms far enough off that "soon" stays first."""
    return (datetime.now(UTC) + timedelta(hours=hours)).astimezone(ZoneInfo(zone))


def test_every_verb_against_a_real_daemon(home: Home, standin: TwilioStandin, start_daemon) -> None:
    home.write_config(twilio_block(standin))
    daemon = start_daemon()
    work, later = wall_time_from_now(2, "Europe/London"), wall_time_from_now(3, "Europe/London")
    paris = wall_time_from_now(3, "Europe/Paris")

    # add, in the forms people write
    out = home.cli("add", "--to", "MOBILE", "--daily", f"{work:%H:%M}", "--days", "weekdays", "--name", "work").stdout
    assert out.startswith(f"Added alarm 1 (work): {work:%H:%M} Mon–Fri Europe/London, calling MOBILE")
    home.cli("add", "--to", "OFFICE", "--at", "tomorrow 06:45", "--name", "early")
    home.cli("add", "--to", "0", "--cron", f"{paris.minute} {paris.hour} * * *", "--tz", "Europe/Paris",
             "--name", "paris")
    home.cli("add", "--to", "0", "--at", "in 20m", "--name", "soon")

    # list: text and JSON
    text = home.cli("list").stdout
    assert text.splitlines()[0].split() == ["NEXT", "LEFT", "LAST", "ID", "NAME", "TO", "SCHEDULE", "STATE"]
    assert text.rstrip().endswith("4 alarms listed.")
    assert "soon" in text.splitlines()[1]  # the soonest first
    assert "334455" not in text  # OFFICE is secret
    listed = home.cli_json("list")
    assert listed[0]["name"] == "soon"

    # show
    shown = home.cli_json("show", "work")
    assert shown["schedule"] == f"{work:%H:%M} Mon–Fri Europe/London" and shown["state"] == "active"
    assert "Schedule:" in home.cli("show", "1").stdout

    # edit: only what is given changes
    out = home.cli("edit", "work", "--daily", f"{later:%H:%M}", "--days", "mon-thu").stdout
    assert f"{later:%H:%M} Mon–Thu Europe/London" in out
    assert home.cli_json("show", "work")["to"]["name"] == "MOBILE"

    # pause --until, resume, skip, skip --on
    out = home.cli("pause", "work", "--until", "in 3d").stdout
    assert out.startswith("Paused alarm 1 (work) until ")
    paused = home.cli_json("show", "work")
    assert paused["state"] == "paused" and paused["paused_until"]
    assert "paused until" in home.cli("list").stdout
    home.cli("resume", "work")
    assert home.cli_json("show", "work")["state"] == "active"
    out = home.cli("skip", "work").stdout
    assert "will not ring at" in out
    skipped = home.cli_json("show", "work")
    assert skipped["skipping"] == [skipped["next_fire_at"]]
    assert "skipping " in home.cli("list").stdout
    day = (datetime.now(UTC) + timedelta(days=9)).date()
    while day.weekday() > 3:  # a Mon-Thu day, when "work" rings
        day += timedelta(days=1)
    home.cli("skip", "work", "--on", day.isoformat())
    assert len(home.cli_json("show", "work")["skipping"]) == 2

    # next, next --explain, next ALARM --count
    coming = home.cli_json("next", "--count", "3")
    assert len(coming) == 3 and coming[0]["alarm_name"] == "soon"
    assert set(coming[0]) >= {"alarm_id", "alarm_name", "at", "local", "gap_moved", "repeated_hour"}
    explained = home.cli("next", "--explain", "--count", "3").stdout
    assert explained.splitlines()[0].split() == ["LOCAL", "UTC", "LEFT", "ALARM", "NOTE"]
    assert "UTC" in explained.splitlines()[1]
    only = home.cli_json("next", "paris", "--count", "2")
    assert [i["alarm_name"] for i in only] == ["paris", "paris"]

    # dial: rings now through the Twilio stand-in
    out = home.cli("dial", "MOBILE").stdout
    assert out.startswith("Calling MOBILE (+44 7700 900123) now")
    assert standin.wait_for_creates(1, timeout=10)[0].field("To") == "+447700900123"

    # history, with its filters
    calls = home.cli_json("history", "--limit", "5")
    assert calls and calls[0]["to"]["name"] == "MOBILE"
    assert home.cli_json("history", "--alarm", "work") == []
    assert "WHEN" in home.cli("history").stdout

    # status
    info = home.cli_json("status")
    assert info["daemon"] == "up" and info["mode"] == "twilio" and info["next_alarm"]["name"] == "soon"
    assert info["last_call"] is not None
    assert "Daemon:" in home.cli("status").stdout

    # remove
    assert home.cli("remove", "soon").stdout.startswith("Removed alarm 4 (soon):")
    assert len(home.cli_json("list")) == 3

    # a refused command changes nothing stored
    before = home.cli_json("list")
    for args in (["edit", "work", "--cron", "99 * * * *"], ["edit", "work", "--tz", "Nowhere/Land"],
                 ["edit", "work", "--to", "PAGER"], ["pause", "work", "--until", "whenever"],
                 ["skip", "work", "--on", "not-a-date"], ["edit", "work", "--at", "in 1h", "--cron", "* * * * *"],
                 ["edit", "nope", "--daily", "07:00"]):
        result = home.cli(*args, check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("alarmd: ") and result.stderr.count("\n") == 1
    assert home.cli_json("list") == before

    # offline verbs, once the daemon is stopped
    daemon.stop()
    assert "OK; mode twilio; 2 phone numbers" in home.cli("config", "check").stdout
    assert "schema is up to date" in home.cli("db", "upgrade").stdout
    down = home.cli("list", check=False)
    assert down.returncode == 1 and "alarmd run" in down.stderr


def run_on_a_terminal(home: Home, *args: str, **env: str) -> str:
    return on_a_terminal(home, [sys.executable, "-m", "alarmd"], *args, **env)


@pytest.mark.xdist_group("cli_e2e_read_only")
def test_colour_only_on_a_terminal_and_never_with_no_color(read_only_home: Home) -> None:
    home = read_only_home
    assert "\x1b[" in run_on_a_terminal(home, "list")
    assert "\x1b[" not in run_on_a_terminal(home, "list", NO_COLOR="1")
    assert "\x1b[" not in home.cli("list").stdout  # piped
    assert json.loads(run_on_a_terminal(home, "list", "--json"))[0]["name"] == "soon"


@pytest.mark.xdist_group("cli_e2e_read_only")
def test_shell_completion_uses_clicks_own_mechanism(read_only_home: Home) -> None:
    home = read_only_home
    script = home.cli(_ALARMD_COMPLETE="bash_source").stdout
    assert "_ALARMD_COMPLETE=bash_complete" in script and "complete " in script
    words = home.cli(_ALARMD_COMPLETE="bash_complete", COMP_WORDS="alarmd show wo", COMP_CWORD="2").stdout
    assert "plain,work" in words.splitlines()
    verbs = home.cli(_ALARMD_COMPLETE="bash_complete", COMP_WORDS="alarmd pa", COMP_CWORD="1").stdout
    assert "plain,pause" in verbs.splitlines()
