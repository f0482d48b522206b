"""`state`'s small facts, written by nodes that start together on one PostgreSQL.

Three nodes starting at once each read the keepalive's pin as missing and inserted it;
all but the first failed on the primary key (a traceback in their log, CI stop 19).
put_state is one upsert: the second waits for the first's commit, then overwrites.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alarmd.config.database import parse_database
from alarmd.store import db
from alarmd.store.insert import put_state
from alarmd.store.models import StateEntry
from tests import postgres

pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url


@pytest.mark.system
def test_two_transactions_setting_one_missing_key_at_once_both_succeed(pg_url: str) -> None:
    engine = db.make_engine(parse_database("alarmd.database", pg_url, None))
    db.upgrade(engine)
    errors: list[BaseException] = []
    try:
        with Session(engine) as first:
            first.begin()
            assert first.get(StateEntry, "keepalive_number") is None
            put_state(first, "keepalive_number", "first")

            def second() -> None:
                try:
                    with Session(engine) as session, session.begin():
                        # As the race had it: the row is not there yet for this one either.
                        assert session.get(StateEntry, "keepalive_number") is None
                        put_state(session, "keepalive_number", "second")
                except BaseException as exc:  # reported below
                    errors.append(exc)

            thread = threading.Thread(target=second)
            thread.start()
            thread.join(0.5)
            assert thread.is_alive(), "the second write waits for the first transaction"
            first.commit()
            thread.join(10)
        assert errors == []
        with Session(engine) as session:
            assert session.scalars(select(StateEntry.value).where(StateEntry.key == "keepalive_number")).all() \
                == ["second"]
    finally:
        engine.dispose()


def test_on_sqlite_a_key_is_set_and_then_overwritten(tmp_path: Path) -> None:
    engine = db.make_engine(tmp_path / "alarmd.db")
    db.upgrade(engine)
    try:
        for value in ("one", "two"):
            with Session(engine) as session, session.begin():
                put_state(session, "k", value)
        with Session(engine) as session:
            assert session.scalars(select(StateEntry.value).where(StateEntry.key == "k")).all() == ["two"]
    finally:
        engine.dispose()
