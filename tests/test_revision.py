"""A database at the newest schema is told apart before Alembic is asked (alarmd.store.revision);
one behind, or a new one, is upgraded through Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from alarmd.store import revision
from alarmd.store.revision import at_head
from tests.test_migrations import script, upgrade_to


def test_the_head_written_in_the_code_is_alembics() -> None:
    assert script().get_current_head() == revision.HEAD


@pytest.mark.parametrize("start", ["base", *[r.revision for r in script().walk_revisions()]])
def test_only_a_database_at_the_newest_revision_is_at_head(tmp_path: Path, start: str) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'alarmd.db'}")
    if start != "base":
        upgrade_to(engine, start)
    with engine.connect() as connection:
        assert at_head(connection) == (start == script().get_current_head())
    engine.dispose()
