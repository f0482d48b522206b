"""The `alarmd` command through click's CliRunner against the real API app in-process.

Each error case: its exit status, one sentence on stderr, and nothing stored changed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alarmd import clock
from alarmd.schedule.timeparse import parse_when
from tests.cli_harness import LiveApp, app  # noqa: F401 (the fixture)
from tests.conftest import free_port

LONDON = ZoneInfo("Europe/London")
ALARM_FIELDS = {"id", "name", "kind", "schedule", "at", "daily", "days", "cron", "tz", "to",
                "grace_seconds", "state", "paused_until", "skipping", "next_fire_at", "next_fire_local", "last",
                "created_at"}


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
    assert out.startswith("Added alarm 1 (x): once ") and "calling MOBILE (+44 7700 900123)" in out
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
    assert set(info["keepalive"]) == {"enabled", "last_accepted_call", "next_due", "warning"}
    text = ok(app, "status")
    assert "Daemon:" in text and "up" in text and "dry-run" in text and "next-one (#1)" in text
    due = instant(info["keepalive"]["next_due"]).astimezone(LONDON)
    assert f"Keepalive:  next {due:%a %Y-%m-%d %H:%M %Z}, last accepted call none yet" in text


def test_remove(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--at", "in 3h", "--name", "gone")
    assert ok(app, "remove", "gone").startswith("Removed alarm 1 (gone):")
    assert as_json(app, "list") == []


# --- errors: exit 2 for bad input, exit 1 for a daemon that is down or refuses --------


@pytest.mark.parametrize(("args", "sentence"), [
    (("show", "nope"), "No alarm has the id or name 'nope'."),
    (("remove", "42"), "No alarm has the id or name '42'."),
    (("history", "--alarm", "nope"), "No alarm has the id or name 'nope'."),
    (("add", "--to", "0", "--at", "someday"), "is not a date and time alarmd understands"),
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


def test_a_call_the_cost_guard_refuses_exits_1(home: Any) -> None:
    live = LiveApp(home, limits={"callsPerHour": 2, "dialsPerHour": 1})
    try:
        ok(live, "dial", "MOBILE")
        live.service.wait_idle(5)
        sentence = refused(live, 1, "dial", "MOBILE")
        assert "manual dial per hour" in sentence and "1 was placed" in sentence
        assert len(as_json(live, "history")) == 1
    finally:
        live.stop()


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


def test_names_match_ignoring_case_and_an_ambiguous_one_exits_2(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--daily", "06:00", "--name", "Work")
    assert as_json(app, "show", "WORK")["name"] == "Work"
    ok(app, "add", "--to", "0", "--daily", "07:00", "--name", "work")
    assert as_json(app, "show", "work")["id"] == 2  # the exact name wins
    before = as_json(app, "list")
    sentence = refused(app, 2, "remove", "WORK")
    assert sentence == ("The name 'WORK' is ambiguous: it fits 'Work' (#1), 'work' (#2); "
                        "use the id or the exact name.")
    assert as_json(app, "list") == before


# --- edit, pause, resume, skip, next, dial ---------------------------------------------


def test_edit_changes_only_what_is_given(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--daily", "07:00", "--days", "mon-fri", "--name", "work")
    out = ok(app, "edit", "work", "--to", "OFFICE", "--tz", "Europe/Paris")
    assert out.startswith("Changed alarm 1 (work): 07:00 Mon–Fri Europe/Paris, calling OFFICE (+44 1** *** *455)")
    out = ok(app, "edit", "1", "--cron", "15 6 * * sat", "--name", "weekend")
    assert "Changed alarm 1 (weekend): cron 15 6 * * sat Europe/Paris" in out
    changed = as_json(app, "show", "weekend")
    assert (changed["kind"], changed["to"]["name"], changed["grace_seconds"]) == ("cron", "OFFICE", 600)
    ok(app, "edit", "weekend", "--at", "tomorrow 06:45")
    once = as_json(app, "show", "weekend")
    assert once["kind"] == "once" and instant(once["at"]).astimezone().tzinfo is not None


def test_pause_until_and_resume(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--daily", "07:00", "--name", "work")
    out = ok(app, "pause", "work")
    assert out == "Paused alarm 1 (work); `alarmd resume 1` brings it back.\n"
    assert as_json(app, "show", "work")["state"] == "paused"
    assert "paused" in ok(app, "list").splitlines()[1]
    assert as_json(app, "next", "work") == []  # paused for good: nothing coming
    assert ok(app, "resume", "work").startswith("Resumed alarm 1 (work); next ")
    before = clock.now()
    out = ok(app, "pause", "work", "--until", "mon 08:00")
    until = parse_when("mon 08:00", "Europe/London", before)
    assert out == f"Paused alarm 1 (work) until {until.astimezone(LONDON):%a %Y-%m-%d %H:%M %Z}.\n"
    shown = as_json(app, "show", "work")
    assert instant(shown["paused_until"]) == until
    assert f"paused until {until.astimezone(LONDON):%a %Y-%m-%d %H:%M}" in ok(app, "list")
    coming = as_json(app, "next", "work", "--count", "2")
    assert all(instant(c["at"]) >= until for c in coming)


def test_skip_the_next_ring_and_a_given_day(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--daily", "07:00", "--name", "work")
    first = as_json(app, "show", "work")["next_fire_at"]
    assert ok(app, "skip", "work").startswith("Alarm 1 (work) will not ring at ")
    skipped = as_json(app, "show", "work")
    assert skipped["skipping"] == [first]
    assert f"skipping {instant(first).astimezone(LONDON):%a %Y-%m-%d}" in ok(app, "list")
    assert as_json(app, "next", "work", "--count", "1")[0]["at"] != first
    day = (instant(first) + timedelta(days=5)).date().isoformat()
    ok(app, "skip", "work", "--on", day)
    assert len(as_json(app, "show", "work")["skipping"]) == 2
    assert day not in [c["local"][:10] for c in as_json(app, "next", "work", "--count", "7")]


@pytest.mark.parametrize(("args", "sentence"), [
    (("pause", "work", "--until", "whenever"), "is not a date and time alarmd understands"),
    (("pause", "work", "--until", "2020-01-01T00:00"), "not in the future"),
    (("skip", "work", "--on", "soon"), "is not a date"),
    (("skip", "nope"), "No alarm has the id or name 'nope'."),
    (("skip", "work", "--from", "2026-12-24"), "--from and --to go together"),
    (("unskip", "work", "--to", "2026-12-24"), "--from and --to go together"),
    (("skip", "work", "--on", "2026-12-24", "--from", "2026-12-24", "--to", "2026-12-25"), "--on conflicts with"),
    (("unskip", "work"), "Alarm 1 has no skipped ring to take back."),
    (("unskip", "nope"), "No alarm has the id or name 'nope'."),
    (("resume", "nope"), "No alarm has the id or name 'nope'."),
    (("next", "nope"), "No alarm has the id or name 'nope'."),
    (("edit", "work", "--cron", "* * * *"), "is not a cron expression"),
    (("edit", "work", "--tz", "Nowhere/Land"), "is not a known time zone"),
    (("edit", "work", "--to", "9"), "There is no phone number 9"),
    (("edit", "work", "--at", "2020-01-01T07:00"), "is in the past"),
    (("dial", "9"), "There is no phone number 9"),
    (("dial", "PAGER"), "No phone number is named 'PAGER'"),
])
def test_bad_input_to_the_new_verbs_exits_2_and_changes_nothing(app: LiveApp, args: tuple[str, ...],  # noqa: F811
                                                                sentence: str) -> None:
    ok(app, "add", "--to", "0", "--daily", "07:00", "--name", "work")
    before = as_json(app, "list")
    assert sentence.casefold() in refused(app, 2, *args).casefold()
    assert as_json(app, "list") == before
    assert as_json(app, "history") == []


def test_next_lists_all_alarms_soonest_first(app: LiveApp) -> None:  # noqa: F811
    daily = (clock.now() + timedelta(hours=2)).astimezone(LONDON)  # always after "in 30m"
    ok(app, "add", "--to", "0", "--daily", f"{daily:%H:%M}", "--name", "daily")
    ok(app, "add", "--to", "0", "--at", "in 30m", "--name", "soon")
    coming = as_json(app, "next", "--count", "4")
    assert [c["alarm_name"] for c in coming][:2] == ["soon", "daily"]
    assert len(coming) == 4 and [c["at"] for c in coming] == sorted(c["at"] for c in coming)
    for item in coming:
        assert set(item) == {"alarm_id", "alarm_name", "at", "local", "gap_moved", "repeated_hour"}
    lines = ok(app, "next").splitlines()
    assert lines[0].split() == ["WHEN", "LEFT", "ALARM"] and "soon (#2)" in lines[1]
    assert as_json(app, "next", "daily", "--count", "2")[0]["alarm_name"] == "daily"


def test_next_explain_marks_the_dst_gap_and_the_repeated_hour(app: LiveApp) -> None:  # noqa: F811
    # Sundays 01:30 in London: within 60 weeks there is always a spring gap and an autumn
    # repeat, both on a Sunday at 01:00.
    ok(app, "add", "--to", "0", "--cron", "30 1 * * sun", "--name", "night")
    lines = ok(app, "next", "night", "--explain", "--count", "60").splitlines()
    assert lines[0].split() == ["LOCAL", "UTC", "LEFT", "ALARM", "NOTE"]
    gap = [line for line in lines if "DST gap" in line]
    repeat = [line for line in lines if "DST repeat" in line]
    assert len(gap) == 1 and len(repeat) == 1
    assert " 02:30 BST  " in gap[0] and " 01:30 UTC  " in gap[0]
    assert " 01:30 BST  " in repeat[0] and " 00:30 UTC  " in repeat[0]
    items = as_json(app, "next", "night", "--count", "60")
    assert sum(i["gap_moved"] for i in items) == 1 and sum(i["repeated_hour"] for i in items) == 1


def test_dial_rings_now(app: LiveApp) -> None:  # noqa: F811
    out = ok(app, "dial", "0")
    assert out == "Calling MOBILE (+44 7700 900123) now; `alarmd history --limit 1` shows how it went.\n"
    app.service.wait_idle(5)
    calls = as_json(app, "history", "--limit", "1")
    assert calls[0]["reason"] == "dial" and calls[0]["status"] == "dry-run"
    assert "dry-run" in ok(app, "history")


def test_list_shows_the_last_ring_and_its_outcome(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--at", "now", "--name", "rang")
    ok(app, "add", "--to", "0", "--daily", "07:00", "--name", "later")
    for occurrence in app.service.claim_due(1, clock.now() + timedelta(seconds=1)):
        app.service.fire_occurrence(occurrence)
    lines = ok(app, "list").splitlines()
    assert "later" in lines[1] and "active" in lines[1]
    rang = lines[2]
    assert rang.startswith("-") and "rang" in rang and rang.endswith("done")
    assert " dry-run " in rang  # LAST: when, and its outcome
    assert as_json(app, "show", "rang")["last"]["status"] == "dry-run"
    calls = as_json(app, "history", "--alarm", "rang")
    assert [c["status"] for c in calls] == ["dry-run"]
    assert "rang (#1)" in ok(app, "history")
    assert "Last call:" in ok(app, "status") and "rang (#1)" in ok(app, "status")
