"""Ids are never given twice (issue 13 item 7): NMO holds alarm and call ids, and a
reused one would make it edit or delete someone else's alarm. Revision 0002 gives the
alarms and occurrences tables SQLite's AUTOINCREMENT; an upgrade from 0001 keeps every
row, and every link between them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from alarmd.store.models import Base
from tests.apiapp import LiveApi, live_api
from tests.conftest import Home, twilio_block
from tests.test_migrations import stored_revision, upgrade_to


@pytest.fixture
def api(home: Home) -> Iterator[LiveApi]:
    with live_api(home, twilio_block(None)) as live:
        yield live


def test_the_id_of_a_removed_alarm_is_never_given_again(api: LiveApi) -> None:
    first = api.client.post("/v1/alarms", json={"to": 0, "daily": "07:00"}).json()
    newest = api.client.post("/v1/alarms", json={"to": 0, "daily": "08:00"}).json()
    assert api.client.delete(f"/v1/alarms/{newest['id']}").status_code == 200

    added = api.client.post("/v1/alarms", json={"to": 0, "daily": "09:00"}).json()

    assert added["id"] > newest["id"] > first["id"]
    assert api.client.get(f"/v1/alarms/{newest['id']}").status_code == 404


def test_the_id_of_a_call_is_never_given_again(api: LiveApi) -> None:
    dialled = api.client.post("/twilio/0").json()
    api.wait_for(lambda: api.rows("SELECT finished_at FROM occurrences")[0][0] is not None)
    with sqlite3.connect(api.home.db_path) as db:
        db.execute("DELETE FROM occurrences WHERE id = ?", (dialled["id"],))

    again = api.client.post("/twilio/0").json()

    assert again["id"] > dialled["id"]


def fill_0001(home: Home) -> None:
    """A database at revision 0001 as a daemon of that time left it: two alarms, their calls."""
    home.db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{home.db_path}")
    upgrade_to(engine, "0001")
    engine.dispose()
    now = "2026-11-26 12:00:00.000000"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    with sqlite3.connect(home.db_path) as db:
        for alarm_id, ref in ((1, "0"), (2, "MOBILE")):
            db.execute("INSERT INTO alarms (id, name, kind, time_of_day, days, tz, to_ref, grace_seconds, paused, "
                       "skip_instants, next_fire_at, created_at, updated_at) VALUES (?, ?, 'daily', '07:00', "
                       "'0,1,2,3,4,5,6', 'UTC', ?, 600, 0, '[]', ?, ?, ?)",
                       (alarm_id, f"wake{alarm_id}", ref, tomorrow.replace(tzinfo=None).isoformat(" "), now, now))
            db.execute("INSERT INTO occurrences (id, claim_key, alarm_id, alarm_name, reason, to_ref, scheduled_at, "
                       "status, created_at, finished_at) VALUES (?, ?, ?, ?, 'alarm', ?, "
                       "'2026-11-26 07:00:00.000000', 'answered', ?, ?)",
                       (alarm_id, f"alarm:{alarm_id}:2026-11-26T07:00:00Z", alarm_id, f"wake{alarm_id}", ref,
                        now, now))
            db.execute("INSERT INTO attempts (occurrence_id, number, number_name, dialer, started_at, "
                       "finished_at, sid, status, permanent) VALUES (?, '+447700900123', 'MOBILE', 'twilio', ?, "
                       "?, ?, 'completed', 0)", (alarm_id, now, now, f"CA{alarm_id:032d}"))
        # Alarm 3 was removed before the upgrade: only its call's claim key remembers its id.
        # It called index 1 then, which was MOBILE; index 1 is OFFICE now.
        db.execute("INSERT INTO occurrences (id, claim_key, alarm_id, alarm_name, reason, to_ref, scheduled_at, "
                   "status, created_at, finished_at) VALUES (3, 'alarm:3:2026-11-25T07:00:00Z', NULL, 'gone', "
                   "'alarm', '1', '2026-11-25 07:00:00.000000', 'answered', ?, ?)", (now, now))
        db.execute("INSERT INTO attempts (occurrence_id, number, number_name, dialer, started_at, "
                   "finished_at, sid, status, permanent) VALUES (3, '+447700900123', 'MOBILE', 'twilio', ?, "
                   "?, 'CA' || hex(randomblob(16)), 'completed', 0)", (now, now))


@pytest.mark.system
def test_an_upgrade_from_0001_keeps_every_row_and_link_and_ids_are_then_never_reused(
    home: Home, start_daemon
) -> None:
    home.write_config(twilio_block(None))
    fill_0001(home)

    # The daemon upgrades on its own engine, with foreign keys on: recreating a table must
    # neither null the calls' link to their alarm nor delete their attempts.
    daemon = start_daemon()

    assert stored_revision(home.db_path) not in (None, "0001")
    # Alarms stored before alarmd recorded whom they call are pinned from the config as it
    # is now, and the log says so once.
    assert [line.split("pinned ", 1)[1] for line in daemon.log().splitlines() if "pinned " in line] == [
        "2 alarms stored before alarmd recorded whom alarms call, from twilio.phoneNumbers as it is now: "
        "#1 calls MOBILE; #2 calls MOBILE."]
    with sqlite3.connect(home.db_path) as db:
        assert db.execute("SELECT id, name, to_ref FROM alarms ORDER BY id").fetchall() == [
            (1, "wake1", "0"), (2, "wake2", "MOBILE")]
        assert db.execute("SELECT id, alarm_id FROM occurrences ORDER BY id").fetchall() == [
            (1, 1), (2, 2), (3, None)]
        assert db.execute("SELECT occurrence_id, sid FROM attempts ORDER BY id LIMIT 2").fetchall() == [
            (1, "CA" + "0" * 31 + "1"), (2, "CA" + "0" * 31 + "2")]
    history = home.cli_json("history")
    assert [(c["alarm_id"], c["alarm_removed"]) for c in history] == [(2, False), (1, False), (3, True)]
    # Calls made before pins existed name whom their first attempt called, whatever the
    # config's index (alarm 3's call was to index 0 then) means now.
    assert [c["to"]["name"] for c in history] == ["MOBILE", "MOBILE", "MOBILE"]

    daemon.stop()
    again = start_daemon()
    assert "pinned " not in again.log()
    home.cli("remove", "2")
    home.cli("add", "--to", "MOBILE", "--daily", "06:00", "--name", "new")

    # Neither 2 (removed now) nor 3 (removed before the upgrade) is given again.
    assert [(a["id"], a["name"]) for a in home.cli_json("list")] == [(4, "new"), (1, "wake1")]


@pytest.mark.system
def test_the_migrated_schema_is_what_the_models_describe(home: Home) -> None:
    home.write_config(twilio_block(None))
    fill_0001(home)
    home.cli("db", "upgrade")

    engine = create_engine(f"sqlite:///{home.db_path}")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        autoincrement = {row[0] for row in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'")}
    engine.dispose()
    assert differences == []
    assert autoincrement == {"alarms", "occurrences", "alarm_changes"}
