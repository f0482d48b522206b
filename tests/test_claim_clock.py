"""A node's offset from the database's clock is measured anew every few seconds, so it can
move by a few milliseconds between an alarm's job being set and the job running. The job
must still claim the occurrence it was set for, at once: before, it found nothing due yet,
set itself again a few milliseconds on, and APScheduler dropped that run because the
first was still going (max_instances=1): the alarm waited for another node, or for ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alarmd import clock
from tests.apiapp import LiveApi, live_api
from tests.conftest import Home, twilio_block, wait_until

pytestmark = pytest.mark.system


@pytest.fixture
def api(home: Home) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(None, phoneNumbers=[{"name": "MOBILE", "number": "+44 7700 900123"}])) as live:
        yield live
    clock.set_offset(timedelta(0))


def test_an_alarm_is_claimed_by_its_first_run_though_the_clock_offset_moved(api: LiveApi, monkeypatch) -> None:
    claims: list[tuple[int, list[int]]] = []
    claim_due = api.service.claim_due

    def recorded(alarm_id: int, now: datetime) -> list[int]:
        claimed = claim_due(alarm_id, now)
        claims.append((alarm_id, claimed))
        return claimed

    monkeypatch.setattr(api.service, "claim_due", recorded)
    due = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
    created = api.client.post("/v1/alarms", json={"to": "MOBILE", "at": due.isoformat()})
    assert created.status_code == 201
    # The job is set by the old offset; by the time it runs, the offset measured since is
    # half a second less, so "now plus the claim lead" falls short of the due instant.
    clock.set_offset(timedelta(seconds=-0.5))
    rang = wait_until(lambda: api.rows("SELECT status FROM occurrences WHERE finished_at IS NOT NULL"),
                      timeout=15)
    assert len(rang) == 1 and rang[0][0] != "missed"
    # Claimed by the run set for it, not by a run set again after the first found nothing
    # due (which is how the alarm was lost). Told by the runs themselves, not by how far
    # ahead the claim came, which a loaded machine moves.
    runs = [claimed for alarm_id, claimed in claims if alarm_id == created.json()["id"]]
    assert runs and runs[0], f"the alarm's runs claimed {runs}"
