"""Editing an alarm through a real daemon, with the CLI and with PATCH as NMO sends it:
a one-off moved to a time just past rings at once, as `add` would; a new schedule keeps
the skips it still rings at and says which it dropped.

One dry-run daemon on SQLite serves the module (the tests edit alarms of their own names);
editing is the service's, the same on either engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alarmd.cli import formatting as fmt
from tests.conftest import Home, dry_run_daemon, wait_until

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """A dry-run daemon's home (a ring is recorded, nobody is called)."""
    with dry_run_daemon(tmp_path_factory.mktemp("edit")) as running:
        yield running


def calls_of(home: Home, alarm: str) -> list[str]:
    status, answer = home.api("GET", f"/v1/calls?alarm={alarm}")
    assert status == 200, answer
    return [c["status"] for c in answer["calls"]]


def seconds_ago(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def test_an_edit_to_a_one_off_time_just_past_rings_at_once(home: Home) -> None:
    home.cli("add", "--to", "MOBILE", "--at", "tomorrow 09:00", "--name", "x")
    assert home.api("POST", "/v1/alarms", {"to": "MOBILE", "at": "tomorrow 09:00", "name": "nmo"})[0] == 201

    out = home.cli("edit", "x", "--at", seconds_ago(20)).stdout
    assert "next " in out and "(in 0s)" in out
    assert wait_until(lambda: calls_of(home, "x") == ["dry-run"])
    assert home.cli_json("show", "x")["state"] == "done"

    status, changed = home.api("PATCH", "/v1/alarms/nmo", {"at": seconds_ago(45)})
    assert status == 200, changed
    assert changed["state"] == "active" and changed["next_ring_at"] is not None
    assert wait_until(lambda: calls_of(home, "nmo") == ["dry-run"])


def test_an_edit_of_the_schedule_keeps_the_skips_it_still_rings_at_and_names_the_others(home: Home) -> None:
    home.cli("add", "--to", "MOBILE", "--daily", "07:00", "--tz", "Europe/London", "--name", "work")
    week = [i["at"] for i in home.cli_json("next", "work", "--count", "7")]
    weekend = next(at for at in week if datetime.fromisoformat(at).weekday() == 5)
    weekday = next(at for at in week if datetime.fromisoformat(at).weekday() == 2)
    for at in (weekend, weekday):
        home.cli("skip", "work", "--on", at[:10])

    same = home.cli("edit", "work", "--tz", "Europe/London").stdout  # the same zone: nothing moves
    assert "Dropped" not in same
    assert home.cli_json("show", "work")["skipping"] == sorted([weekend, weekday])
    out = home.cli("edit", "work", "--days", "mon-fri").stdout
    assert out.splitlines()[1] == (f"Dropped 1 skip that the new schedule does not ring at: "
                                   f"{fmt.local(weekend, 'Europe/London')}.")
    assert home.cli_json("show", "work")["skipping"] == [weekday]

    status, changed = home.api("PATCH", "/v1/alarms/work", {"daily": "06:30"})
    assert status == 200, changed
    assert (changed["dropped_skips"], changed["skipping"]) == ([weekday], [])
