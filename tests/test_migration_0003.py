"""Revision 0003 (answering machine detection, cost-guard reservations) upgrades a database with data in it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from alarmd.calls import costguard
from alarmd.store.db import session_factory
from alarmd.store.models import Alarm, Attempt, Occurrence
from tests.conftest import Home
from tests.test_migrations import script, stored_revision, upgrade_to

pytestmark = pytest.mark.system


def columns(db: sqlite3.Connection, table: str) -> dict[str, tuple[int, object]]:
    """name -> (notnull, default) as SQLite has it."""
    return {row[1]: (row[3], row[4]) for row in db.execute(f"PRAGMA table_info({table})")}


def test_an_0002_database_with_alarms_and_calls_upgrades_and_reads_back(home: Home) -> None:
    home.write_config()
    home.db_path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{home.db_path}")
    upgrade_to(engine, "0002")
    recent = (datetime.now(UTC) - timedelta(minutes=10)).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(home.db_path) as db:
        db.execute("INSERT INTO alarms (name, kind, time_of_day, days, tz, to_ref, grace_seconds, paused, "
                   "skip_instants, next_fire_at, created_at, updated_at) VALUES ('wake', 'daily', '07:00', "
                   "'0,1,2,3,4', 'Europe/London', 'MOBILE', 600, 0, '[]', '2030-01-02 07:00:00', ?, ?)",
                   (recent, recent))
        db.execute("INSERT INTO occurrences (claim_key, alarm_id, reason, to_ref, scheduled_at, status, "
                   "created_at, finished_at) VALUES ('alarm:1:x', 1, 'alarm', 'MOBILE', ?, 'answered', ?, ?)",
                   (recent, recent, recent))
        db.execute("INSERT INTO attempts (occurrence_id, number, dialer, started_at, sid, status, permanent) "
                   "VALUES (1, '+447700900123', 'twilio', ?, 'CA1', 'completed', 0)", (recent,))
    engine.dispose()

    home.cli("db", "upgrade")

    assert stored_revision(home.db_path) == script().get_current_head()
    with sqlite3.connect(home.db_path) as db:
        assert columns(db, "alarms")["require_human"] == (0, None)
        assert columns(db, "attempts")["answered_by"] == (0, None)
        assert columns(db, "attempts")["may_have_placed"][0] == 1
        assert columns(db, "occurrences")["reserved_at"] == (0, None)
        assert db.execute("SELECT key FROM state WHERE key = 'costguard'").fetchall() == [("costguard",)]
        assert db.execute("SELECT name, require_human FROM alarms").fetchall() == [("wake", None)]
    engine = create_engine(f"sqlite:///{home.db_path}")
    try:
        with session_factory(engine).begin() as session:
            (alarm,) = session.query(Alarm).all()
            (attempt,) = session.query(Attempt).all()
            (occurrence,) = session.query(Occurrence).all()
            assert (alarm.require_human, attempt.answered_by, attempt.may_have_placed) == (None, None, True)
            assert occurrence.reserved_at is None
            # A call made before the upgrade still counts for the hour it was made in.
            assert costguard.usage(session, datetime.now(UTC)).placed == 1
    finally:
        engine.dispose()
