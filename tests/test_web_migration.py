"""Revision 0004 (the web page's sessions and sign-in links) upgrades a database that has data.

`alarmd db upgrade` runs in this process (click's CliRunner): it is offline, and starts nothing.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import create_engine

from alarmd import clock
from alarmd.alarms.signin import SignIn
from alarmd.cli.commands import cli
from alarmd.store.db import session_factory
from tests.conftest import Home
from tests.test_migrations import script, stored_revision, upgrade_to


def test_0004_upgrades_a_database_with_alarms_and_calls_in_it(home: Home) -> None:
    home.write_config()
    home.db_path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{home.db_path}")
    upgrade_to(engine, "0003")
    now = datetime(2026, 12, 1, 7, 0, tzinfo=UTC).replace(tzinfo=None)
    with sqlite3.connect(home.db_path) as db:
        db.execute("INSERT INTO alarms (id, name, kind, time_of_day, days, tz, to_ref, grace_seconds, paused, "
                   "skip_instants, next_fire_at, created_at, updated_at) VALUES (1, 'wake', 'daily', '07:00', "
                   "'0,1,2,3,4', 'Europe/London', 'MOBILE', 600, 0, '[]', ?, ?, ?)", (now, now, now))
        db.execute("INSERT INTO occurrences (claim_key, alarm_id, alarm_name, reason, to_ref, scheduled_at, status, "
                   "created_at) VALUES ('alarm:1:x', 1, 'wake', 'alarm', 'MOBILE', ?, 'answered', ?)", (now, now))

    upgraded = CliRunner().invoke(cli, ["db", "upgrade"], env={"ALARMD_CONFIG": str(home.config_path)})
    assert upgraded.exit_code == 0, upgraded.output
    assert stored_revision(home.db_path) == script().get_current_head()
    with sqlite3.connect(home.db_path) as db:
        assert db.execute("SELECT id, name FROM alarms").fetchall() == [(1, "wake")]
        assert db.execute("SELECT status FROM occurrences").fetchall() == [("answered",)]
        assert db.execute("SELECT count(*) FROM web_sessions").fetchone() == (0,)
    signin = SignIn(session_factory(engine))
    session = signin.open_session(clock.now())
    assert signin.session_valid(session, clock.now())
    code, _ = signin.issue_link(clock.now())
    assert signin.redeem_link(code, clock.now()) is not None and signin.redeem_link(code, clock.now()) is None
    engine.dispose()
