"""The nodes' one clock: a node reads its offset from the database's clock over a real
PostgreSQL server, and trusts only a quick round trip. A slow one (a busy server, a
connection being made) once put a node's clock 3 s ahead, and that node rang 3 s early.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from alarmd import clock
from alarmd.config.database import parse_database
from alarmd.store import db, dbclock
from tests import postgres

pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url


@pytest.mark.system
def test_the_offset_from_a_local_server_is_within_a_round_trip(pg_url: str) -> None:
    engine = db.make_engine(parse_database("alarmd.database", pg_url, None))
    try:
        with Session(engine) as session:
            offset = dbclock.measure_offset(session)
    finally:
        engine.dispose()
    # The same host's clock on both sides: what is left is the reading's own error.
    assert offset is not None and abs(offset) < dbclock.MAX_ROUND_TRIP


@pytest.mark.system
def test_a_slow_round_trip_is_not_trusted(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each reading of this host's clock a second after the last: every round trip "takes" a
    # second, so the middle of it could be half a second off the server's reading.
    start = datetime.now(UTC)
    readings = iter(start + timedelta(seconds=i) for i in range(100))
    monkeypatch.setattr(clock, "host_now", lambda: next(readings))
    engine = db.make_engine(parse_database("alarmd.database", pg_url, None))
    try:
        with Session(engine) as session:
            assert dbclock.measure_offset(session) is None
    finally:
        engine.dispose()


def test_sqlite_shares_the_hosts_clock(tmp_path: object) -> None:
    engine = db.make_engine(parse_database("alarmd.database", f"{tmp_path}/alarmd.db", None))
    try:
        with Session(engine) as session:
            assert dbclock.measure_offset(session) == timedelta(0)
    finally:
        engine.dispose()
