"""The migrations ship inside the wheel: an installed alarmd can create its schema."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_installed_wheel_creates_the_schema_from_an_empty_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # Built by the project's own backend (hatchling, in the test extra), without pip first
    # installing it into a fresh build environment.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(ROOT)], check=True, capture_output=True, timeout=240)
    wheel = next(dist.glob("alarmd-*.whl"))

    # A fresh venv without a pip of its own (ensurepip takes seconds): this run's pip installs
    # the wheel into it (pip --python).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=120)
    # The dependencies come from this test run's environment (a plain path entry: its
    # .pth files, among them the editable alarmd of the checkout, are not processed).
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALARMD_")}
    env.update(HOME=str(tmp_path / "home"), ALARMD_DB=str(empty / "alarmd.db"))
    where = subprocess.run([str(python), "-c", "import alarmd.store.db; print(alarmd.store.db.migrations_dir())"],
                           cwd=empty, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert where.startswith(str(site)), where
    assert not where.startswith(str(ROOT))

    result = subprocess.run([str(venv / "bin" / "alarmd"), "db", "upgrade"], cwd=empty, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(empty / "alarmd.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"alarms", "occurrences", "attempts", "state", "alembic_version"} <= tables
    assert any(path.name.startswith(version) for path in (ROOT / "migrations" / "versions").glob("*.py"))
    assert journal == "wal"
