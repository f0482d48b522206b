"""The keepalive's pure math, with explicit aware datetimes (no clock involved)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alarmd.calls import callplan
from alarmd.config.settings import KeepaliveSettings, load_settings
from alarmd.errors import ConfigError
from alarmd.schedule import keepalive
from alarmd.schedule.keepalive import History, Plan

LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")
NOON = Plan(29, time(12, 0), LONDON)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("since", "plan", "expected"), [
    # Day 0 09:00 BST -> day 29 at 12:00 BST.
    (utc(2026, 8, 1, 8), NOON, utc(2026, 8, 30, 11)),
    # Local days count, not UTC days: 00:30 BST on 1 August is still 31 July in UTC.
    (utc(2026, 7, 31, 23, 30), NOON, utc(2026, 8, 30, 11)),
    (utc(2026, 8, 1, 22, 30), NOON, utc(2026, 8, 30, 11)),
    # Across the autumn change: 12:00 BST -> 12:00 GMT.
    (utc(2026, 10, 10, 11), NOON, utc(2026, 11, 8, 12)),
    # Across the spring change: 12:00 GMT -> 12:00 BST.
    (utc(2027, 3, 10, 12), NOON, utc(2027, 4, 8, 11)),
    # An `at` in the spring gap (01:30 on 28 March 2027) rings once, at 02:30 BST.
    (utc(2027, 2, 27, 12), Plan(29, time(1, 30), LONDON), utc(2027, 3, 28, 1, 30)),
    # An `at` that happens twice (01:30 on 25 October 2026) rings at the first, BST.
    (utc(2026, 9, 26, 12), Plan(29, time(1, 30), LONDON), utc(2026, 10, 25, 0, 30)),
    # Another zone and cadence.
    (utc(2026, 8, 1, 20), Plan(7, time(9, 15), TOKYO), utc(2026, 8, 9, 0, 15)),
])
def test_regular_due_is_at_local_time_every_days_later(since: datetime, plan: Plan,
                                                       expected: datetime) -> None:
    assert keepalive.regular_due(since, plan) == expected


def test_it_is_always_less_than_30_days_after_the_last_call() -> None:
    """The widest case: a call at 00:00 local and `at` 23:59, with everyDays at its maximum."""
    since = datetime(2026, 8, 1, 0, 0, tzinfo=LONDON)
    due = keepalive.regular_due(since, Plan(29, time(23, 59), LONDON))
    assert timedelta(days=29) < due - since < timedelta(days=30)


@pytest.mark.parametrize(("failures", "delay"), [
    (1, timedelta(minutes=5)), (2, timedelta(minutes=30)), (3, timedelta(hours=2)),
    (4, timedelta(hours=6)), (5, timedelta(hours=6)), (40, timedelta(hours=6)),
])
def test_retry_delays_are_5_min_30_min_2_h_then_6_h(failures: int, delay: timedelta) -> None:
    assert keepalive.retry_delay(failures) == delay


def test_retry_delay_needs_a_failure() -> None:
    with pytest.raises(ValueError, match="at least one failure"):
        keepalive.retry_delay(0)


def test_next_due_counts_from_the_newest_of_start_accepted_and_dry_run() -> None:
    start = utc(2026, 8, 1, 8)
    assert keepalive.next_due(History(start, None), NOON) == utc(2026, 8, 30, 11)
    assert keepalive.next_due(History(start, utc(2026, 8, 21, 6)), NOON) == utc(2026, 9, 19, 11)
    assert keepalive.next_due(History(start, utc(2026, 8, 21, 6), utc(2026, 8, 25, 11)), NOON) \
        == utc(2026, 9, 23, 11)
    # An accepted call older than the first start (a copied database) does not pull it back.
    assert keepalive.next_due(History(start, utc(2026, 7, 1)), NOON) == utc(2026, 8, 30, 11)


def test_next_due_after_failures_is_the_retry_after_the_last_one() -> None:
    start = utc(2026, 8, 1, 8)
    first = utc(2026, 8, 30, 11)
    history = History(start, None, None, (first,))
    assert keepalive.next_due(history, NOON) == first + timedelta(minutes=5)
    tries = (first, first + timedelta(minutes=5), first + timedelta(minutes=35),
             first + timedelta(hours=2, minutes=35))
    assert keepalive.next_due(History(start, None, None, tries), NOON) == tries[-1] + timedelta(hours=6)
    # A retry is named by whole seconds (its claim key, status).
    late = History(start, None, None, (first + timedelta(microseconds=700_000),))
    assert keepalive.next_due(late, NOON) == first + timedelta(minutes=5)


def test_a_try_fails_when_it_finishes_or_15_minutes_after_its_claim_if_it_never_does() -> None:
    claimed = utc(2026, 8, 30, 11)
    assert keepalive.failed_at(claimed, claimed + timedelta(seconds=10)) == claimed + timedelta(seconds=10)
    assert keepalive.failed_at(claimed, None) == claimed + timedelta(minutes=15)
    history = History(utc(2026, 8, 1, 8), None, None, (keepalive.failed_at(claimed, None),))
    assert keepalive.next_due(history, NOON) == claimed + timedelta(minutes=20)


def test_the_warning_starts_every_days_plus_one_after_the_last_call() -> None:
    last = utc(2026, 11, 2, 10)
    history = History(utc(2026, 1, 1), last)
    assert keepalive.at_risk_from(history, NOON) == last + timedelta(days=30)
    assert keepalive.warning(history, NOON, last + timedelta(days=30, seconds=-1)) is None
    assert keepalive.warning(history, NOON, last + timedelta(days=30)) == \
        "trial number at risk: no call since 2026-11-02"
    # The date is the configured zone's: 23:30 UTC on 1 November is 2 November in Tokyo.
    tokyo = Plan(29, time(12), TOKYO)
    late = History(utc(2026, 1, 1), utc(2026, 11, 1, 23, 30))
    assert keepalive.warning(late, tokyo, utc(2027, 1, 1)) == "trial number at risk: no call since 2026-11-02"


def test_with_no_call_ever_the_warning_counts_from_the_first_start() -> None:
    history = History(utc(2026, 8, 1, 8), None, utc(2026, 8, 30, 11))  # a dry-run keepalive proves nothing
    assert keepalive.warning(history, NOON, utc(2026, 8, 31, 7, 59)) is None
    assert keepalive.warning(history, NOON, utc(2026, 8, 31, 8)) == \
        "trial number at risk: no call since 2026-08-01"


def test_the_warning_is_logged_at_its_start_then_once_a_day() -> None:
    history = History(utc(2026, 8, 1, 8), None)
    start = utc(2026, 8, 31, 8)
    assert keepalive.next_warning_log(history, NOON, None) == start
    # A line logged before this spell at risk began does not count.
    assert keepalive.next_warning_log(history, NOON, utc(2026, 7, 1)) == start
    logged = start + timedelta(hours=3)
    assert keepalive.next_warning_log(history, NOON, logged) == logged + timedelta(days=1)


def test_the_twiml_says_one_escaped_sentence_then_hangs_up(monkeypatch: pytest.MonkeyPatch) -> None:
    root = ET.fromstring(callplan.keepalive_twiml())
    assert [child.tag for child in root] == ["Say", "Hangup"]
    text = root[0].text or ""
    assert "keepalive" in text and text.count(".") == 1 and text.endswith(".")
    monkeypatch.setattr(callplan, "KEEPALIVE_SENTENCE", 'Tom & Jerry say "<hi>".')
    assert ET.fromstring(callplan.keepalive_twiml())[0].text == 'Tom & Jerry say "<hi>".'
    assert "&amp;" in callplan.keepalive_twiml() and "&lt;hi&gt;" in callplan.keepalive_twiml()


def _settings(tmp_path: Path, keepalive_block: object) -> KeepaliveSettings:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"alarmd": {"keepalive": keepalive_block}, "twilio": {
        "phoneNumbers": [{"name": "MOBILE", "number": "+447700900123"}]}}))
    return load_settings(path, env={"HOME": str(tmp_path)}).keepalive


def test_config_defaults_match_the_issue(tmp_path: Path) -> None:
    assert _settings(tmp_path, {}) == KeepaliveSettings(enabled=True, every_days=29, number=0, at="12:00",
                                                        ring_seconds=15)
    assert _settings(tmp_path, {"enabled": False, "everyDays": 14, "number": "mobile", "at": "18:30",
                                "ringSeconds": 30}) == KeepaliveSettings(False, 14, "mobile", "18:30", 30)


@pytest.mark.parametrize(("block", "message"), [
    ({"everyDays": 30}, "alarmd.keepalive.everyDays: 30 is out of range (from 1 to 29)."),
    ({"everyDays": 0}, "alarmd.keepalive.everyDays: 0 is out of range (from 1 to 29)."),
    ({"at": "25:00"}, "alarmd.keepalive.at: '25:00' is not a time of day"),
    ({"ringSeconds": "15"}, "alarmd.keepalive.ringSeconds: expected a whole number"),
    ({"number": "HOME"}, "alarmd.keepalive.number: no entry of twilio.phoneNumbers is named 'HOME'."),
    ({"number": 3}, "alarmd.keepalive.number: 3 is not an index of twilio.phoneNumbers"),
    ({"enabled": "yes"}, "alarmd.keepalive.enabled: expected true or false"),
])
def test_bad_keepalive_config_names_the_key(tmp_path: Path, block: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, block)
    assert str(caught.value).startswith(message)
