"""Each refusal of an alarm's input names the field it is about, by the API's JSON name
(BadInput.field), so the web page can put it beside that field; one about no single
field names none. The service in-process, on a real SQLite file, at a fixed instant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from alarmd.alarms.service import AlarmInput, AlarmService, SkipDays
from alarmd.errors import BadInput, Conflict
from tests.test_service import service  # noqa: F401 (the fixture)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(("given", "field"), [
    ({"to": "NOBODY", "daily": "07:00"}, "to"),
    ({"to": 9, "daily": "07:00"}, "to"),
    ({"daily": "07:00", "then": "NOBODY"}, "then"),
    ({"daily": "07:00", "then": 7}, "then"),
    ({"daily": "07:00", "tz": "Mars/Olympus"}, "tz"),
    ({"at": "tomorrowish"}, "at"),
    ({"at": "2020-01-01T07:00"}, "at"),
    ({"at": "2028-06-01T07:00"}, "at"),
    ({"at": "2026-12-24"}, "at"),
    ({"at": "in 500d"}, "at"),
    ({"daily": "7am"}, "daily"),
    ({"daily": "07:00", "days": "someday"}, "days"),
    ({"cron": "30 6 * * *", "days": "mon"}, "days"),
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "0 0 30 2 *"}, "cron"),
    ({"daily": "07:00", "name": "42"}, "name"),
    ({"daily": "07:00", "name": "a/b"}, "name"),
    ({"daily": "07:00", "say": "  "}, "say"),
    ({"daily": "07:00", "ring_seconds": 3}, "ring_seconds"),
    ({"daily": "07:00", "grace_seconds": -1}, "grace_seconds"),
    ({"daily": "07:00", "redial_attempts": 99}, "redial_attempts"),
    ({"daily": "07:00", "redial_interval_seconds": 0}, "redial_interval_seconds"),
    ({"daily": "07:00", "require_human": "yes"}, "require_human"),
    ({"daily": "07:00", "at": "2026-12-24T07:00"}, None),
])
def test_a_refused_new_alarm_names_its_field(service: AlarmService, given: dict[str, Any],  # noqa: F811
                                             field: str | None) -> None:
    with pytest.raises(BadInput) as refused:
        service.add_alarm(AlarmInput(**{"to": 0, **given}), NOW)
    assert refused.value.field == field, str(refused.value)


@pytest.mark.parametrize(("changes", "field"), [
    ({"to": None}, "to"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"daily": "25:00"}, "daily"),
    ({"say": "a\x01b"}, "say"),
])
def test_a_refused_edit_names_its_field(service: AlarmService, changes: dict[str, Any],  # noqa: F811
                                        field: str) -> None:
    alarm = service.add_alarm(AlarmInput(to=0, daily="07:00", tz="UTC"), NOW)["id"]
    with pytest.raises(BadInput) as refused:
        service.edit_alarm(alarm, changes, NOW)
    assert refused.value.field == field, str(refused.value)


def test_a_name_taken_names_the_name(service: AlarmService) -> None:  # noqa: F811
    service.add_alarm(AlarmInput(to=0, daily="07:00", name="wake"), NOW)
    with pytest.raises(Conflict) as taken:
        service.add_alarm(AlarmInput(to=0, daily="08:00", name="wake"), NOW)
    assert taken.value.field == "name"


@pytest.mark.parametrize("until", ["2020-01-01T07:00", "whenever", "2028-06-01T07:00"])
def test_a_refused_pause_names_until(service: AlarmService, until: str) -> None:  # noqa: F811
    alarm = service.add_alarm(AlarmInput(to=0, daily="07:00", tz="UTC"), NOW)["id"]
    with pytest.raises(BadInput) as refused:
        service.pause_alarm(alarm, until, NOW)
    assert refused.value.field == "until", str(refused.value)


@pytest.mark.parametrize(("days", "field"), [
    (SkipDays(on="24 December"), "on"),
    (SkipDays(on="2026-11-30"), "on"),
    (SkipDays(first="2020-01-01", last="2026-12-04"), "from"),
    (SkipDays(first="2026-12-04", last="2028-01-01"), "to"),
    (SkipDays(last="2026-12-04"), "from"),
    (SkipDays(first="2026-12-04"), "to"),
    (SkipDays(first="2026-12-10", last="2026-12-04"), "to"),
    (SkipDays(on="2026-12-04", first="2026-12-04", last="2026-12-05"), None),
])
def test_a_refused_skip_names_its_date(service: AlarmService, days: SkipDays,  # noqa: F811
                                       field: str | None) -> None:
    alarm = service.add_alarm(AlarmInput(to=0, daily="07:00", tz="UTC"), NOW)["id"]
    with pytest.raises(BadInput) as refused:
        service.skip_alarm(alarm, days, NOW)
    assert refused.value.field == field, str(refused.value)
