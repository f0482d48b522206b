"""The `alarmd` command through click's CliRunner against the real API app in-process.

Each error case: its exit status, one sentence on stderr, and nothing stored changed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from alarmd import clock
from alarmd.timeparse import parse_when
from tests.cli_harness import LiveApp, app  # noqa: F401 (the fixture)
from tests.conftest import free_port

ALARM_FIELDS = {"id", "name", "kind", "schedule", "at", "daily", "days", "cron", "tz", "to",
                "grace_seconds", "state", "next_fire_at", "next_fire_local", "last", "created_at"}


def ok(live: LiveApp, *args: str) -> str:
    result = live.cli(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def as_json(live: LiveApp, *args: str) -> Any:
    return json.loads(ok(live, *args, "--json"))


def refused(live: LiveApp, code: int, *args: str, **env: Any) -> str:
    """Run a command that must fail; its one sentence on stderr."""
    result = live.cli(*args, **env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    line = result.stderr
    assert line.startswith("alarmd: ") and line.endswith(".\n") and line.count("\n") == 1, line
    assert "Traceback" not in line
    return line.removeprefix("alarmd: ").strip()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- add, in every form people write ----------------------------------------------------


@pytest.mark.parametrize("text", ["07:00", "tomorrow 06:45", "in 20m", "in 1h30m", "fri 07:10",
                                  "{day}T07:00", "{day}T07:00:00+01:00"])
def test_add_reads_each_time_form_in_the_alarms_zone(app: LiveApp, text: str) -> None:  # noqa: F811
    before = clock.now()
    text = text.format(day=(before + timedelta(days=30)).date().isoformat())
    out = ok(app, "add", "--to", "MOBILE", "--at", text, "--tz", "America/New_York", "--name", "x")
    after = clock.now()
    assert out.startswith("Added alarm x (#1): once ") and "calling MOBILE (+44 7700 900123)" in out
    stored = as_json(app, "show", "x")
    at = instant(stored["at"])
    # The daemon parsed it at some instant between `before` and `after`.
    assert parse_when(text, "America/New_York", before) <= at <= parse_when(text, "America/New_York", after)
    if "T07" in text:
        assert at == parse_when(text, "America/New_York", before)


def test_add_daily_on_days_and_cron(app: LiveApp) -> None:  # noqa: F811
    out = ok(app, "add", "--to", "0", "--daily", "07:00", "--days", "mon-fri", "--name", "work")
    assert "07:00 Mon–Fri Europe/London" in out
    for days, shown in (("weekdays", "Mon–Fri"), ("weekends", "Sat,Sun"), ("sat,sun", "Sat,Sun")):
        out = ok(app, "add", "--to", "0", "--daily", "07:30", "--days", days)
        assert f"07:30 {shown} Europe/London" in out
    out = ok(app, "add", "--to", "OFFICE", "--cron", "30 6 * * 1-5", "--tz", "Europe/Paris")
    assert "cron 30 6 * * 1-5 Europe/Paris" in out
    assert "OFFICE (+44 1** *** *455)" in out  # a secret number, masked
    assert "334455" not in out


# --- list, show, history, status: text and --json --------------------------------------


def test_list_sorts_by_next_and_counts(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--at", "in 2h", "--name", "later")
    ok(app, "add", "--to", "OFFICE", "--at", "in 1h", "--name", "sooner")
    lines = ok(app, "list").splitlines()
    assert lines[0].split() == ["NEXT", "LEFT", "LAST", "ID", "NAME", "TO", "SCHEDULE", "STATE"]
    assert "sooner" in lines[1] and "later" in lines[2]
    assert "OFFICE (+44 1** *** *455)" in lines[1]
    assert lines[1].split()[4] in ("59min", "1h")  # LEFT
    assert lines[-1] == "2 alarms listed."
    assert "\x1b[" not in "\n".join(lines)  # no colour when not on a terminal

    alarms = as_json(app, "list")
    assert [a["name"] for a in alarms] == ["sooner", "later"]
    for a in alarms:
        assert set(a) >= ALARM_FIELDS
        assert set(a["to"]) >= {"ref", "index", "name", "number"}
    assert alarms[0]["to"]["number"] == "+44 1** *** *455"


def test_show_names_an_alarm_by_id_or_name(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--daily", "06:30", "--name", "early")
    by_name, by_id = as_json(app, "show", "early"), as_json(app, "show", "1")
    assert by_name == by_id and set(by_name) >= ALARM_FIELDS
    text = ok(app, "show", "early")
    assert "Alarm:" in text and "early (#1)" in text and "06:30 daily Europe/London" in text
    assert "Next:" in text and "Then:" in text


def test_history_and_its_filters(app: LiveApp) -> None:  # noqa: F811
    assert ok(app, "history").strip() == "No calls yet."
    assert as_json(app, "history") == []
    ok(app, "add", "--to", "0", "--at", "in 1h", "--name", "one")
    assert as_json(app, "history", "--alarm", "one", "--limit", "5") == []


def test_status_says_up_mode_and_next(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--at", "in 3h", "--name", "next-one")
    info = as_json(app, "status")
    assert info["daemon"] == "up" and info["mode"] == "dry-run"
    assert {"version", "mode", "dry_run_reason", "timezone", "alarms", "next_alarm", "last_call"} <= set(info)
    assert info["next_alarm"]["name"] == "next-one"
    text = ok(app, "status")
    assert "Daemon:" in text and "up" in text and "dry-run" in text and "next-one (#1)" in text


def test_remove(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--at", "in 3h", "--name", "gone")
    assert ok(app, "remove", "gone").startswith("Removed alarm gone (#1)")
    assert as_json(app, "list") == []


# --- errors: exit 2 for bad input, exit 1 for a daemon that is down or refuses --------


@pytest.mark.parametrize(("args", "sentence"), [
    (("show", "nope"), "No alarm has the id or name 'nope'."),
    (("remove", "42"), "No alarm has the id or name '42'."),
    (("history", "--alarm", "nope"), "No alarm has the id or name 'nope'."),
    (("add", "--to", "0", "--at", "someday"), "is not a time alarmd understands"),
    (("add", "--to", "0", "--at", "2020-01-01T07:00"), "is in the past"),
    (("add", "--to", "0", "--cron", "61 * * * *"), "is not a valid minute"),
    (("add", "--to", "0", "--daily", "07:00", "--tz", "Mars/Olympus"), "is not a known time zone"),
    (("add", "--to", "7", "--at", "in 1h"), "There is no phone number 7"),
    (("add", "--to", "PAGER", "--at", "in 1h"), "No phone number is named 'PAGER'"),
    (("add", "--to", "0", "--at", "in 1h", "--daily", "07:00"), "--at and --daily conflict"),
    (("add", "--to", "0", "--at", "in 1h", "--days", "mon"), "--days conflicts with --at"),
    (("add", "--to", "0"), "give one of --at, --daily or --cron"),
    (("add", "--at", "in 1h"), "Missing option '--to'"),
    (("add", "--to", "0", "--daily", "07:00", "--name", "keep"), "an alarm named 'keep' already exists"),
    (("history", "--limit", "0"), "--limit"),
])
def test_bad_input_exits_2_with_one_sentence_and_changes_nothing(app: LiveApp, args: tuple[str, ...],  # noqa: F811
                                                                 sentence: str) -> None:
    ok(app, "add", "--to", "0", "--daily", "06:00", "--name", "keep")
    before = as_json(app, "list")
    assert sentence.casefold() in refused(app, 2, *args).casefold()
    assert as_json(app, "list") == before


def test_a_daemon_that_is_not_running_exits_1_and_says_how_to_start_it(app: LiveApp) -> None:  # noqa: F811
    sentence = refused(app, 1, "list", ALARMD_LISTEN=f"127.0.0.1:{free_port()}")
    assert "is not running" in sentence and "alarmd run" in sentence


def test_a_daemon_that_refuses_exits_1(app: LiveApp) -> None:  # noqa: F811
    sentence = refused(app, 1, "list", ALARMD_API_TOKEN="wrong-token-0123456789")
    assert "bearer token" in sentence
    assert "wrong-token" not in sentence


def test_status_of_a_daemon_that_is_down(app: LiveApp) -> None:  # noqa: F811
    port = free_port()
    result = app.cli("status", ALARMD_LISTEN=f"127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.stdout.split() == ["Daemon:", "down"]
    assert "is not running" in result.stderr and result.stderr.count("\n") == 1
    result = app.cli("status", "--json", ALARMD_LISTEN=f"127.0.0.1:{port}")
    assert result.exit_code == 1
    down = json.loads(result.stdout)
    assert down["daemon"] == "down" and "is not running" in down["error"]


def test_a_config_error_is_one_sentence(app: LiveApp, tmp_path: Any) -> None:  # noqa: F811
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "not valid JSON" in refused(app, 2, "--config", str(bad), "list")


def test_help_and_version_exit_0(app: LiveApp) -> None:  # noqa: F811
    assert "pause" in ok(app, "--help") and "next" in ok(app, "--help")
    assert ok(app, "--version").startswith("alarmd, version")


def test_one_off_in_the_past_within_a_minute_means_now(app: LiveApp) -> None:  # noqa: F811
    just_now = (clock.now() - timedelta(seconds=20)).isoformat()
    assert "Added alarm" in ok(app, "add", "--to", "0", "--at", just_now)


@pytest.mark.parametrize(("args", "sentence"), [
    (("edit", "keep"), "nothing to change"),
    (("edit", "keep", "--at", "in 1h", "--cron", "* * * * *"), "--at and --cron conflict"),
    (("edit", "keep", "--daily", "07:00", "--cron", "* * * * *"), "--daily and --cron conflict"),
    (("edit", "keep", "--cron", "* * * * *", "--days", "mon"), "--days conflicts with --cron"),
    (("next", "--count", "0"), "--count"),
    (("frobnicate",), "No such command 'frobnicate'"),
])
def test_conflicting_or_missing_options_exit_2(app: LiveApp, args: tuple[str, ...], sentence: str) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--daily", "06:00", "--name", "keep")
    before = as_json(app, "list")
    assert sentence in refused(app, 2, *args)
    assert as_json(app, "list") == before


def test_bare_alarmd_prints_help(app: LiveApp) -> None:  # noqa: F811
    assert ok(app).startswith("Usage: alarmd")
