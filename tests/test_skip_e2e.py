"""Skips through a real daemon and the CLI: every view a person reads tells the same next ring.

After skip, skip --on, a skip range and unskip, `list` (NEXT, LEFT), `show` (Next, Then),
`next` and `status` agree on the ring that will happen; `next_ring_at` follows them while
`next_fire_at` stays the next scheduled instant. A skip in the seconds before a ring (the
claim is made 3 s ahead) stops that ring.

On SQLite: the views and the skip are the service's, the same on either engine;
tests/test_nodes.py proves a change reaching a prepared call on PostgreSQL too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alarmd.cli import formatting as fmt
from tests.conftest import Home, twilio_block, wait_until
from tests.twilio_standin import TwilioStandin

pytestmark = pytest.mark.system

LONDON = ZoneInfo("Europe/London")


def day_of(instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(LONDON).date().isoformat()


def shown(instant: str) -> str:
    return fmt.local(instant, "Europe/London")


def assert_views_agree(home: Home, ring: str, then: list[str], scheduled: str) -> None:
    """list, show, next and the JSON all say `ring` is next, and `then` come after it."""
    alarm = home.api("GET", "/v1/alarms/work")[1]
    assert (alarm["next_ring_at"], alarm["next_fire_at"]) == (ring, scheduled)
    assert datetime.fromisoformat(alarm["next_ring_local"]) == datetime.fromisoformat(ring)
    row = home.cli("list").stdout.splitlines()[1]
    assert row.startswith(shown(ring) + "  "), row
    detail = home.cli("show", "work").stdout
    assert f"Next:     {shown(ring)} (in " in detail
    assert f"Then:     {', '.join(fmt.local(t, 'Europe/London', zone_name=False) for t in then)}\n" in detail
    assert [i["at"] for i in home.cli_json("next", "work", "--count", str(len(then) + 1))] == [ring, *then]


def test_list_show_next_and_status_agree_through_skips_and_unskips(home: Home, start_daemon) -> None:
    home.write_config(twilio_block(None))
    start_daemon()
    home.cli("add", "--to", "MOBILE", "--daily", "07:00", "--days", "mon-fri", "--name", "work")
    r = [i["at"] for i in home.cli_json("next", "work", "--count", "10")]  # the schedule's instants

    out = home.cli("skip", "work").stdout
    assert out.startswith(f"Alarm 1 (work) will not ring at {shown(r[0])}; next {shown(r[1])} (in ")
    assert_views_agree(home, r[1], r[2:5], scheduled=r[0])
    status = home.cli_json("status")["next_alarm"]
    assert (status["next_ring_at"], status["next_fire_at"]) == (r[1], r[0])
    assert f"Next alarm: {shown(r[1])}, work (#1)" in home.cli("status").stdout

    home.cli("skip", "work", "--on", day_of(r[2]))
    assert_views_agree(home, r[1], [r[3], r[4], r[5]], scheduled=r[0])
    out = home.cli("skip", "work", "--from", day_of(r[1]), "--to", day_of(r[4])).stdout
    assert f"will not ring at 4 rings from {shown(r[1])} to {shown(r[4])}; next {shown(r[5])}" in out
    assert_views_agree(home, r[5], r[6:9], scheduled=r[0])
    assert home.api("GET", "/v1/alarms/work")[1]["skipping"] == r[:5]

    # People skip the wrong day: take back the soonest skip, then a date, then the range.
    out = home.cli("unskip", "work").stdout
    assert out.startswith(f"Alarm 1 (work) will ring again at {shown(r[0])}; next {shown(r[0])} (in ")
    assert_views_agree(home, r[0], r[5:8], scheduled=r[0])
    home.cli("unskip", "work", "--on", day_of(r[2]))
    assert [i["at"] for i in home.cli_json("next", "work", "--count", "3")] == [r[0], r[2], r[5]]
    home.cli("unskip", "work", "--from", day_of(r[0]), "--to", day_of(r[9]))
    assert [i["at"] for i in home.cli_json("next", "work", "--count", "3")] == r[:3]
    assert home.api("GET", "/v1/alarms/work")[1]["skipping"] == []

    # Nothing to take back: one sentence, exit 2 or 422, and nothing stored.
    before = home.cli_json("list")
    refused = home.cli("unskip", "work", check=False)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == "alarmd: Alarm 1 has no skipped ring to take back.\n"
    on_day = home.cli("unskip", "work", "--on", day_of(r[3]), check=False)
    assert on_day.returncode == 2 and f"no skipped ring on {day_of(r[3])}" in on_day.stderr
    assert home.api("POST", "/v1/alarms/work/unskip") == (422, {"error": "Alarm 1 has no skipped ring to take back."})
    assert home.api("POST", "/v1/alarms/work/unskip", {"from": day_of(r[0]), "to": day_of(r[2])})[0] == 422
    assert home.cli_json("list") == before

    # Paused for good: nothing will ring, though the scheduler still wakes for the next instant.
    home.cli("pause", "work")
    paused = home.api("GET", "/v1/alarms/work")[1]
    assert (paused["next_ring_at"], paused["next_ring_local"], paused["next_fire_at"]) == (None, None, r[0])
    assert home.cli("list").stdout.splitlines()[1].startswith("-  ")
    assert "Next alarm: none" in home.cli("status").stdout
    assert home.cli_json("status")["next_alarm"] is None


def test_a_skip_in_the_seconds_before_a_ring_stops_that_ring(home: Home, standin: TwilioStandin,
                                                             start_daemon) -> None:
    home.write_config(twilio_block(standin))
    daemon = start_daemon()
    due = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
    home.cli("add", "--to", "MOBILE", "--at", due.isoformat(), "--name", "soon")
    # The claim is made 3 s ahead; from then on until the due instant, the ring is imminent.
    wait_until(lambda: home.api("GET", "/v1/calls?alarm=soon")[1]["calls"], timeout=10)
    imminent = home.api("GET", "/v1/alarms/soon")[1]
    assert imminent["next_fire_at"] is None and imminent["next_ring_at"] == due.isoformat()
    out = home.cli("skip", "soon").stdout
    assert out.startswith(f"Alarm 1 (soon) will not ring at {shown(due.isoformat())}; it will not ring again")
    call = wait_until(lambda: [c for c in home.api("GET", "/v1/calls?alarm=soon")[1]["calls"]
                               if c["finished_at"]], timeout=10)[0]
    assert (call["status"], call["detail"], call["attempts"]) == ("skipped", "skipped by request", [])
    assert datetime.now(UTC) > due and standin.creates() == []
    assert "will skip" in daemon.log()
