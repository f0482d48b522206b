"""A database at the newest schema is told apart without Alembic (alarmd.store.revision):
the daemon then never imports it; one behind, or a new one, is upgraded through it as before."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from alarmd.store.db import migrations_dir
from alarmd.store.revision import at_head, head_revisions
from tests import postgres
from tests.conftest import Home, wait_until
from tests.test_horizon import healthy
from tests.test_migrations import script, upgrade_to

pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url
home = pytest.fixture(params=postgres.ENGINES)(postgres.on_each_engine)

# `alarmd run`, writing at exit which modules of IMPORTED_PACKAGES it imported (by default
# Alembic and Mako, its templates); a name with a dot stands for itself and its submodules.
REPORTING_DAEMON = """
import atexit, os, sys
from alarmd.cli.entry import main

def report():
    names = os.environ.get("IMPORTED_PACKAGES", "alembic mako").split()
    found = sorted(m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in names))
    with open(os.environ["IMPORTED_OUT"], "w") as out:
        out.write(" ".join(found))

atexit.register(report)
sys.argv = ["alarmd", "run"]
main()
"""


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert head_revisions(migrations_dir()) == set(script().get_heads())


@pytest.mark.parametrize("start", ["base", *[r.revision for r in script().walk_revisions()]])
def test_only_a_database_at_the_newest_revision_is_at_head(tmp_path: Path, start: str) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'alarmd.db'}")
    if start != "base":
        upgrade_to(engine, start)
    with engine.connect() as connection:
        assert at_head(connection, migrations_dir()) == (start == script().get_current_head())
    engine.dispose()


def imported_by_a_start(home: Home, packages: str = "alembic mako") -> str:
    """Start `alarmd run`, wait for /healthz, stop it cleanly: what it imported of `packages`."""
    out = home.root / "imported.txt"
    out.unlink(missing_ok=True)
    with (home.root / "reporting.log").open("a") as log:
        env = home.env(IMPORTED_OUT=str(out), IMPORTED_PACKAGES=packages)
        proc = subprocess.Popen([sys.executable, "-c", REPORTING_DAEMON], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: healthy(home.port), timeout=20)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
    return out.read_text()


def test_a_daemon_imports_alembic_to_create_the_schema_and_not_once_it_is_at_head(home: Home) -> None:
    home.write_config(keepalive={"enabled": False})
    assert "alembic.command" in imported_by_a_start(home).split()  # a new database: created by Alembic
    assert imported_by_a_start(home) == ""
