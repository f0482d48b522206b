"""What the page says in words: countdowns and local times (pure; explicit aware datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alarmd.web import words

NOW = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=-1), "now"), (timedelta(seconds=20), "in 1 min"), (timedelta(minutes=45), "in 45 min"),
    (timedelta(minutes=59, seconds=1), "in 1 h"), (timedelta(hours=7, minutes=12), "in 7 h 12 min"),
    (timedelta(hours=47, minutes=59), "in 47 h 59 min"), (timedelta(days=2, hours=3), "in 2 d 3 h"),
    (timedelta(days=9), "in 9 d"),
])
def test_the_countdown_reads_as_a_clock_does(delta: timedelta, text: str) -> None:
    assert words.countdown(NOW + delta, NOW) == text


def test_local_times_are_in_the_alarms_zone_across_the_spring_change() -> None:
    # London moves to BST at 01:00 UTC on 29 March 2026: 07:00 local is 06:00 UTC.
    assert words.local(datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "Europe/London", NOW) == "Sun 07:00"
    assert words.local(datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "America/New_York", NOW) == "Sun 02:00"
    assert words.local(datetime(2026, 4, 24, 6, 0, tzinfo=UTC), "Europe/London", NOW) == "Fri 24 Apr 07:00"
    assert words.local(datetime(2027, 1, 1, 8, 0, tzinfo=UTC), "Europe/London", NOW) == "Fri 1 Jan 2027 08:00"


@pytest.mark.parametrize(("call", "text"), [
    ({"status": "answered", "attempts": [{"status": "completed"}]}, "answered"),
    ({"status": "unanswered", "attempts": [{"status": "no-answer"}]}, "no answer"),
    ({"status": "unanswered", "attempts": [{"status": "busy"}]}, "busy"),
    ({"status": "failed", "detail": "Twilio refused: bad credentials", "attempts": []},
     "failed: Twilio refused: bad credentials"),
    ({"status": "dry-run", "attempts": []}, "dry-run: nobody was called"),
    ({"status": "skipped", "detail": "paused", "attempts": []}, "skipped: paused"),
    ({"status": "dialling", "attempts": [{"status": "accepted"}]}, "calling…"),
    ({"status": "unanswered", "attempts": [{"status": "completed", "answered_by": "machine_end_beep"}]},
     "voicemail: nobody awake answered"),
])
def test_a_calls_outcome_in_words(call: dict[str, object], text: str) -> None:
    assert words.outcome(call) == text
