"""A throwaway PostgreSQL server for the tests: Debian's PostgreSQL 15, started as `postgres`.

initdb refuses to run as root, so the cluster is made and run by the `postgres` user
(runuser), on a free port, with its socket and data in a temp dir that user may write.
fsync is off: a test cluster needs no durability. One cluster per test process (each
xdist worker has its own); each test gets a fresh database in it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(os.environ.get("ALARMD_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "postgres"


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    if not (BIN / "initdb").is_file():
        return f"PostgreSQL's server is not installed ({BIN / 'initdb'} is missing; Debian: postgresql-15)"
    if shutil.which("runuser") is None or os.geteuid() != 0:
        return "the PostgreSQL tests start a cluster as the postgres user, which needs root and runuser"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", USER, "--", *args], capture_output=True, text=True,
                          timeout=timeout, check=True)


@dataclass
class Cluster:
    root: Path
    port: int
    _names = itertools.count(1)

    @classmethod
    def start(cls) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="alarmd-pg-"))
        root.chmod(0o777)
        cluster = cls(root, _free_port())
        _as_postgres(str(BIN / "initdb"), "-D", str(cluster.data), "-U", USER, "--auth=trust",
                     "--no-sync", "-E", "UTF8", "--locale=C")
        cluster.start_server()
        return cluster

    def start_server(self) -> None:
        self.run_ctl("start", "-w", "-t", "30", "-o",
                     f"-c port={self.port} -c listen_addresses=127.0.0.1 "
                     f"-c unix_socket_directories={self.root} -c fsync=off "
                     "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")

    def stop_server(self) -> None:
        self.run_ctl("stop", "-m", "fast", "-w")

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run_ctl(self, *args: str) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), *args)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.run_ctl("stop", "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """Stop the server and start it again on the same port (a reconnect test)."""
        self.stop_server()
        time.sleep(0.2)
        self.start_server()

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = _as_postgres(str(BIN.parent / "bin" / "psql"), "-h", str(self.root), "-p", str(self.port),
                              "-d", database, "-At", "-c", sql)
        return result.stdout.strip()

    def new_database(self) -> str:
        """A fresh, empty database; its URL as alarmd takes it."""
        name = f"alarmd_{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name}")
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"


def require_postgres() -> None:
    """Skip where no cluster can be started, but never in CI: there a missing server fails."""
    why = available()
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    require_postgres()
    cluster = Cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A fresh PostgreSQL database for one test."""
    return pg_cluster.new_database()


ENGINES = ["sqlite", "postgresql"]


def on_each_engine(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A `home` fixture for modules whose behaviour must hold on both engines:
    `home = pytest.fixture(params=ENGINES)(on_each_engine)` in the module."""
    from tests.conftest import Home

    (tmp_path / "home").mkdir()
    home = Home(tmp_path)
    if request.param == "postgresql":
        home.database_url = request.getfixturevalue("pg_url")
    return home
