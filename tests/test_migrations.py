"""The Alembic history: one head, and `alarmd db upgrade` reaches it from every earlier revision.

Later issues each add a revision; these tests keep the chain single and upgradeable.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine

from alarmd.store.db import migrations_dir
from alarmd.store.models import Base
from tests.conftest import Home


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def upgrade_to(engine: Engine, revision: str) -> None:
    """Bring the database to `revision`, not to the head: as a daemon of that time left it."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def stored_revision(path: Path) -> str | None:
    with sqlite3.connect(path) as db:
        rows = db.execute("select version_num from alembic_version").fetchall()
    return rows[0][0] if rows else None


def test_the_history_has_exactly_one_head() -> None:
    heads = script().get_heads()
    assert len(heads) == 1, f"several heads: {heads}; chain the new revision after the last one"


# "base" is an empty file, as on a first start; every other entry is a landed revision.
@pytest.mark.system
@pytest.mark.parametrize("start", ["base", *[r.revision for r in script().walk_revisions()]])
def test_db_upgrade_reaches_the_head_from_every_earlier_revision(home: Home, start: str) -> None:
    home.write_config()
    home.db_path.parent.mkdir(parents=True)
    if start != "base":
        engine = create_engine(f"sqlite:///{home.db_path}")
        upgrade_to(engine, start)
        engine.dispose()
        assert stored_revision(home.db_path) == start

    result = home.cli("db", "upgrade")

    assert result.stdout.strip() == f"{home.db_path}: schema is up to date."
    assert stored_revision(home.db_path) == script().get_current_head()
    with sqlite3.connect(home.db_path) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
    assert set(Base.metadata.tables) <= tables
