"""The CLI's text, exactly, from the API's JSON at a fixed instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click
import pytest

from alarmd.cli import formatting as fmt
from alarmd.cli import screens

NOW = datetime(2026, 11, 26, 22, 48, tzinfo=UTC)  # Thursday evening in London
PLAIN = fmt.Painter(False)


def alarm(id: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": id, "name": None, "kind": "daily", "schedule": "07:00 Mon–Fri Europe/London",
        "tz": "Europe/London", "to": {"ref": "0", "index": 0, "name": "MOBILE", "number": "+44 7700 900123"},
        "grace_seconds": 600, "state": "active", "paused_until": None, "skipping": [],
        "next_fire_at": "2026-11-27T07:00:00+00:00", "next_fire_local": "2026-11-27T07:00:00+00:00",
        "last": None, "created_at": "2026-11-20T10:00:00+00:00",
    }
    base.update(fields)
    # Unless told otherwise, the next scheduled instant is the next ring.
    base.setdefault("next_ring_at", base["next_fire_at"] if base["state"] == "active" else None)
    return base


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (45, "45s"), (60, "1min"), (59 * 60 + 59, "59min"), (3600, "1h"),
    (8 * 3600 + 12 * 60 + 30, "8h 12min"), (86400, "1 day"), (2 * 86400 + 3 * 3600 + 59, "2 days 3h"),
    (-5, "-"),
])
def test_left_reads_like_systemctl(seconds: int, text: str) -> None:
    assert fmt.left(timedelta(seconds=seconds)) == text


def test_local_times_carry_the_weekday_and_the_zone_abbreviation() -> None:
    assert fmt.local("2026-11-27T07:00:00+00:00", "Europe/London") == "Fri 2026-11-27 07:00 GMT"
    assert fmt.local("2026-06-05T06:00:00+00:00", "Europe/London") == "Fri 2026-06-05 07:00 BST"
    assert fmt.local("2026-11-27T07:00:00+00:00", "America/New_York") == "Fri 2026-11-27 02:00 EST"
    assert fmt.local(None) == "-"


def test_the_list_reads_like_list_timers_sorted_by_next_with_a_footer() -> None:
    alarms = [
        alarm(1, name="weekend", schedule="09:00 Sat,Sun Europe/London",
              next_fire_at="2026-11-28T09:00:00+00:00", next_ring_at="2026-11-28T09:00:00+00:00",
              state="paused", paused_until="2026-11-28T08:00:00+00:00"),
        alarm(2, name="work", last={"scheduled_at": "2026-11-26T07:00:00+00:00", "status": "accepted"}),
        alarm(3, kind="once", schedule="once 2026-11-20 06:00 Europe/London", next_fire_at=None,
              state="done", to={"ref": "OFFICE", "index": 1, "name": "OFFICE", "number": "+44 1*** ***455"}),
        # Its next scheduled instant is skipped: NEXT and LEFT show the ring after it.
        alarm(4, name="early", next_fire_at="2026-11-27T06:00:00+00:00", next_ring_at="2026-11-30T06:00:00+00:00",
              skipping=["2026-11-27T06:00:00+00:00"]),
        alarm(5, name="held", state="paused"),  # paused for good: no next ring, before the done one
    ]
    lines = screens.alarm_list(alarms, NOW, PLAIN)
    assert lines == [
        "NEXT                      LEFT       LAST                           ID  NAME     TO"
        "                        SCHEDULE                             STATE",
        "Fri 2026-11-27 07:00 GMT  8h 12min   Thu 2026-11-26 07:00 accepted  2   work     MOBILE "
        "(+44 7700 900123)  07:00 Mon–Fri Europe/London          active",
        "Sat 2026-11-28 09:00 GMT  1 day 10h  -                              1   weekend  MOBILE "
        "(+44 7700 900123)  09:00 Sat,Sun Europe/London          paused until Sat 2026-11-28 08:00",
        "Mon 2026-11-30 06:00 GMT  3 days 7h  -                              4   early    MOBILE "
        "(+44 7700 900123)  07:00 Mon–Fri Europe/London          skipping Fri 2026-11-27",
        "-                         -          -                              5   held     MOBILE "
        "(+44 7700 900123)  07:00 Mon–Fri Europe/London          paused",
        "-                         -          -                              3   -        OFFICE "
        "(+44 1*** ***455)  once 2026-11-20 06:00 Europe/London  done",
        "",
        "5 alarms listed.",
    ]


def test_an_empty_list_and_a_single_alarm_footer() -> None:
    assert screens.alarm_list([], NOW, PLAIN) == ["0 alarms listed."]
    assert screens.alarm_list([alarm(1)], NOW, PLAIN)[-1] == "1 alarm listed."


def test_a_skip_names_its_day_and_how_many_more() -> None:
    assert fmt.state(alarm(1, skipping=["2026-12-01T07:00:00+00:00"])) == "skipping Tue 2026-12-01"
    # The next scheduled instant too: "skipping next" beside NEXT would read as that ring.
    assert fmt.state(alarm(1, skipping=["2026-11-27T07:00:00+00:00"])) == "skipping Fri 2026-11-27"
    three = ["2026-12-01T07:00:00+00:00", "2026-11-30T07:00:00+00:00", "2026-12-02T07:00:00+00:00"]
    assert fmt.state(alarm(1, skipping=three)) == "skipping Mon 2026-11-30 +2"


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert fmt.use_colour(True, None) is True
    assert fmt.use_colour(True, "") is True  # NO_COLOR must be non-empty to count
    assert fmt.use_colour(True, "1") is False
    assert fmt.use_colour(False, None) is False
    painted = screens.alarm_list([alarm(1, state="paused")], NOW, fmt.Painter(True))
    assert "\x1b[" in painted[1]
    # Padding is computed on the plain text: stripping colour gives the plain table.
    assert [click.unstyle(line) for line in painted] == screens.alarm_list([alarm(1, state="paused")], NOW, PLAIN)


def test_next_explain_shows_local_and_utc_and_marks_dst_moves() -> None:
    items = [
        {"alarm_id": 5, "alarm_name": "night", "at": "2027-03-28T01:30:00+00:00",
         "local": "2027-03-28T02:30:00+01:00", "gap_moved": True, "repeated_hour": False},
        {"alarm_id": 5, "alarm_name": "night", "at": "2027-10-31T00:30:00+00:00",
         "local": "2027-10-31T01:30:00+01:00", "gap_moved": False, "repeated_hour": True},
    ]
    lines = screens.fire_time_list(items, datetime(2027, 3, 27, 12, tzinfo=UTC), PLAIN, explain=True,
                               zones={5: "Europe/London"})
    assert lines[0].split() == ["LOCAL", "UTC", "LEFT", "ALARM", "NOTE"]
    assert lines[1].split("  ")[:3] == ["Sun 2027-03-28 02:30 BST", "2027-03-28 01:30 UTC", "13h 30min"]
    assert "night (#5)" in lines[1]
    assert lines[1].endswith("moved forward: that wall time does not exist (DST gap)")
    assert lines[2].startswith("Sun 2027-10-31 01:30 BST  2027-10-31 00:30 UTC")
    assert lines[2].endswith("rings once: that wall time happens twice (DST repeat)")
    plain = screens.fire_time_list(items[:1], datetime(2027, 3, 27, 12, tzinfo=UTC), PLAIN, explain=False,
                               zones={})
    assert plain[1] == "Sun 2027-03-28 02:30 +0100  13h 30min  night (#5)"


def test_status_lines_show_next_alarm_last_call_and_keepalive() -> None:
    info = {
        "daemon": "up", "version": "0.1.0", "mode": "dry-run", "dry_run_reason": "twilio.enabled is not true",
        "timezone": "Europe/London", "alarms": 2, "scheduler": "running",
        "next_alarm": alarm(2, name="work"),
        "last_call": {"alarm_id": 2, "alarm_name": "work", "reason": "alarm",
                      "scheduled_at": "2026-11-26T07:00:00+00:00", "status": "accepted",
                      "to": {"name": "MOBILE", "number": "+44 7700 900123"}},
        "keepalive": {"enabled": True, "last_accepted_call": "2026-11-26T07:00:05+00:00",
                      "next_due": "2026-12-25T12:00:00+00:00", "warning": "trial number at risk"},
    }
    text = "\n".join(screens.status_lines(info, PLAIN))
    assert "Daemon:     up, alarmd 0.1.0, dry-run mode (twilio.enabled is not true)" in text
    assert "Next alarm: Fri 2026-11-27 07:00 GMT, work (#2) (07:00 Mon–Fri Europe/London)" in text
    assert "work (#2) to MOBILE (+44 7700 900123): accepted" in text
    assert "Keepalive:  next Fri 2026-12-25 12:00 GMT, last accepted call Thu 2026-11-26 07:00 GMT" in text
    assert "Last call:  Thu 2026-11-26 07:00 GMT, work (#2)" in text
    assert "Warning:    trial number at risk" in text
    info["keepalive"] = {"enabled": False, "last_accepted_call": None, "next_due": None, "warning": None}
    assert ("Keepalive:  off (alarmd.keepalive.enabled is false or twilio.phoneNumbers is empty)"
            in screens.status_lines(info, PLAIN))
    info.pop("keepalive")
    assert "Keepalive" not in "\n".join(screens.status_lines(info, PLAIN))


def test_show_says_the_ring_that_will_happen_and_the_ones_after_it() -> None:
    # Fri 07:00 is skipped: Next is Mon, and Then goes on from there, leaving nothing out.
    skipped = alarm(2, name="work", next_ring_at="2026-11-30T07:00:00+00:00",
                    skipping=["2026-11-27T07:00:00+00:00"])
    fire_times = [{"at": f"2026-{d}T07:00:00+00:00"} for d in ("11-30", "12-01", "12-02", "12-03")]
    lines = screens.alarm_detail(skipped, NOW, PLAIN, fire_times)
    assert "Next:     Mon 2026-11-30 07:00 GMT (in 3 days 8h)" in lines
    assert "State:    skipping Fri 2026-11-27" in lines
    assert lines[-1] == "Then:     Tue 2026-12-01 07:00, Wed 2026-12-02 07:00, Thu 2026-12-03 07:00"
    held = screens.alarm_detail(alarm(2, state="paused"), NOW, PLAIN, [])
    assert "Next:     -" in held and not any(line.startswith("Then:") for line in held)


def test_what_edit_skip_and_resume_say_about_the_next_ring() -> None:
    assert screens.next_text(alarm(1), NOW) == "next Fri 2026-11-27 07:00 GMT (in 8h 12min)"
    assert screens.next_text(alarm(1, state="paused"), NOW) == "it is paused and will not ring until resumed"
    assert screens.next_text(alarm(1, next_fire_at=None, state="done"), NOW) == "it will not ring again"
    rings = [f"2026-12-{d:02d}T07:00:00+00:00" for d in range(21, 25)]
    assert screens.instants_text(rings[:2], "Europe/London") == "Mon 2026-12-21 07:00 GMT, Tue 2026-12-22 07:00 GMT"
    assert screens.instants_text(rings, "Europe/London") == (
        "4 rings from Mon 2026-12-21 07:00 GMT to Thu 2026-12-24 07:00 GMT")


def test_show_lists_the_alarm_and_its_next_rings() -> None:
    fire_times = [{"at": f"2026-11-{d}T07:00:00+00:00"} for d in (27, 30)]
    lines = screens.alarm_detail(alarm(2, name="work"), NOW, PLAIN, fire_times)
    assert lines == [
        "Alarm:    work (#2)",
        "Schedule: 07:00 Mon–Fri Europe/London",
        "Calls:    MOBILE (+44 7700 900123)",
        "State:    active",
        "Next:     Fri 2026-11-27 07:00 GMT (in 8h 12min)",
        "Last:     -",
        "Grace:    600 s (how late it may still ring after a restart)",
        "Created:  Fri 2026-11-20 10:00 GMT",
        "Then:     Mon 2026-11-30 07:00",
    ]


def test_history_rows_name_the_alarm_or_the_reason() -> None:
    calls = [
        {"alarm_id": None, "alarm_name": None, "reason": "dial", "scheduled_at": "2026-11-26T18:00:00+00:00",
         "status": "accepted", "detail": None, "to": {"name": "MOBILE", "number": "+44 7700 900123"},
         "attempts": [{"sid": "CA" + "0" * 32, "error_message": None}]},
        {"alarm_id": 2, "alarm_name": "work", "reason": "alarm", "scheduled_at": "2026-11-26T07:00:00+00:00",
         "status": "failed", "detail": "Twilio refused: not a verified caller ID (21219)",
         "to": {"name": "OFFICE", "number": "+44 1** *** *455"}, "attempts": []},
    ]
    lines = screens.history_list(calls, PLAIN)
    assert lines[0].split() == ["WHEN", "ALARM", "TO", "STATUS", "DETAIL"]
    # WHEN is in the machine's own zone, so only the other columns are compared exactly.
    assert lines[1].split()[4:] == ["dial", "MOBILE", "(+44", "7700", "900123)", "accepted", "CA" + "0" * 32]
    assert lines[1].endswith("accepted  CA" + "0" * 32)
    assert "work (#2)" in lines[2] and lines[2].endswith("failed    Twilio refused: not a verified caller ID (21219)")
