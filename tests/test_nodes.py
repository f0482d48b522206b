"""Several nodes on one database, PostgreSQL and SQLite alike: real daemons, real servers.

Each node is its own Home (its own state directory, node id, API port) pointing at one
database: a throwaway PostgreSQL cluster (tests/postgres.py) or one SQLite file. The
database is what these tests are about (the change log, claims, leases), so each runs on
both engines.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import postgres
from tests.conftest import Daemon, Home, twilio_block, wait_until
from tests.test_migrations import script
from tests.twilio_standin import TwilioStandin

# The throwaway PostgreSQL server's fixtures, used by name below.
pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url

pytestmark = pytest.mark.system

FAST = {"firstRetrySeconds": 0.5, "maxRetrySeconds": 2, "pollSeconds": 0.05, "pollMarginSeconds": 1,
        "intervalSeconds": 1, "requestTimeoutSeconds": 10}


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def query(database: str, sql: str) -> list[tuple[Any, ...]]:
    if database.startswith("postgresql://"):
        with psycopg.connect(database) as conn:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]
    with sqlite3.connect(database) as db:
        return db.execute(sql).fetchall()


def node(tmp_path: Path, name: str, database: str, standin: TwilioStandin) -> Home:
    (tmp_path / name / "home").mkdir(parents=True)
    home = Home(tmp_path / name)
    home.write_config(twilio_block(standin), redial=FAST, database=database)
    return home


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "shared.db")
    return str(request.getfixturevalue("pg_url"))


def test_three_nodes_starting_together_on_an_empty_postgresql_database_create_the_schema_once(
    tmp_path: Path, pg_url: str, standin: TwilioStandin, daemons: list[Daemon]
) -> None:
    homes = [node(tmp_path, f"n{i}", pg_url, standin) for i in range(3)]
    started: list[Daemon] = []
    errors: list[BaseException] = []

    def start(home: Home) -> None:
        try:
            started.append(Daemon(home))
        except BaseException as exc:  # reported below, with the daemon's log
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(h,)) for h in homes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    daemons.extend(started)
    assert errors == [] and len(started) == 3
    assert query(pg_url, "SELECT version_num FROM alembic_version") == [(script().get_current_head(),)]
    for daemon in started:
        assert "Traceback" not in daemon.log()
    nodes = wait_until(lambda: (n := homes[0].cli_json("status")["nodes"]) and len(n) == 3 and n, timeout=40)
    assert len({n["id"] for n in nodes}) == 3 and all(n["alive"] for n in nodes)


def test_an_alarm_added_through_one_node_is_rung_by_another_when_the_first_dies(
    tmp_path: Path, database: str, standin: TwilioStandin, daemons: list[Daemon]
) -> None:
    first, second = node(tmp_path, "a", database, standin), node(tmp_path, "b", database, standin)
    daemons.extend([Daemon(first), Daemon(second)])
    due = datetime.now(UTC) + timedelta(seconds=5)
    assert first.api("POST", "/v1/alarms", {"at": due.isoformat(), "to": "MOBILE", "name": "wake"})[0] == 201
    # The second node learns of the alarm from the change log, within a second.
    time.sleep(1.2)
    code, _ = daemons[0].stop(signal.SIGKILL)
    assert code == -signal.SIGKILL and time.time() < due.timestamp() - 3, "killed before its claim"

    creates = standin.wait_for_creates(1, timeout=15)
    time.sleep(1)
    assert len(standin.creates()) == 1
    assert creates[0].at >= due.timestamp() - 0.05, "rang early"
    assert creates[0].at - due.timestamp() < 2.0, f"rang {creates[0].at - due.timestamp():.1f} s late"
    calls = second.cli_json("history")
    assert [c["status"] for c in calls] == ["answered"]
    assert [a["sid"] for a in calls[0]["attempts"]] == [creates[0].sid]


def test_a_change_through_one_node_reaches_the_other_within_a_second(
    tmp_path: Path, database: str, standin: TwilioStandin, daemons: list[Daemon]
) -> None:
    first, second = node(tmp_path, "a", database, standin), node(tmp_path, "b", database, standin)
    daemons.extend([Daemon(first), Daemon(second)])
    # Through the API rather than the CLI (the same requests, without a process each), so
    # the alarm can be due soon and the removal still land well before the claim.
    due = datetime.now(UTC) + timedelta(seconds=6)
    assert first.api("POST", "/v1/alarms", {"at": due.isoformat(), "to": "MOBILE", "name": "wake"})[0] == 201
    # Removed through the second node a second or so before the first would claim it (3 s
    # ahead): the first must have taken the removal in by then, and ring nothing.
    assert second.api("DELETE", "/v1/alarms/wake")[0] in (200, 204)
    assert time.time() < due.timestamp() - 3 - 0.8, "the API was too slow for this test to mean anything"
    time.sleep(max(0.0, due.timestamp() + 2 - time.time()))
    assert standin.creates() == []
    assert query(database, "SELECT count(*) FROM occurrences") == [(0,)]


def test_a_remove_through_another_node_stops_a_call_prepared_ahead(
    tmp_path: Path, database: str, standin: TwilioStandin, daemons: list[Daemon]
) -> None:
    first, second = node(tmp_path, "a", database, standin), node(tmp_path, "b", database, standin)
    daemons.extend([Daemon(first), Daemon(second)])
    due = datetime.now(UTC) + timedelta(seconds=4)
    first.cli("add", "--at", due.isoformat(), "--to", "MOBILE", "--name", "wake")
    # Claimed 3 s ahead by one of the nodes; removed through the second 1.5 s before it is due.
    wait_until(lambda: query(database, "SELECT count(*) FROM occurrences") == [(1,)], timeout=5)
    time.sleep(max(0.0, due.timestamp() - 1.5 - time.time()))
    second.cli("remove", "wake")
    time.sleep(max(0.0, due.timestamp() + 2 - time.time()))
    assert standin.creates() == []
    assert query(database, "SELECT status, detail FROM occurrences") == [("skipped", "the alarm was removed")]
