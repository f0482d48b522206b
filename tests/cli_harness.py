"""The daemon's real API app, in this process, for CliRunner tests of the `alarmd` command.

The app runs under uvicorn on a free loopback port in a thread, so the CLI goes through
its real HTTP client; only the scheduler is left out (nothing here waits for a ring).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner, Result

from alarmd.alarms.service import AlarmService
from alarmd.api.app import create_app
from alarmd.calls.dialers import make_dialer
from alarmd.cli.commands import cli
from alarmd.config.settings import load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.store import db
from tests.conftest import API_TOKEN, Home, stop_server, twilio_block


class LiveApp:
    def __init__(self, home: Home, **alarmd: Any):
        self.home = home
        home.migrated().write_config(twilio_block(None), **alarmd)
        settings = load_settings(home.config_path, env=home.env())
        self.engine = open_database(settings)
        self.service = AlarmService(db.session_factory(self.engine), make_dialer(settings.twilio),
                                    settings, phonebook_of(settings))
        app = create_app(self.service, API_TOKEN, lambda: True)
        self.server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=home.port, log_config=None, access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the in-process API did not start")
            time.sleep(0.01)

    def cli(self, *args: str, **env: Any) -> Result:
        environment = {"ALARMD_CONFIG": str(self.home.config_path), "NO_COLOR": None, **env}
        return CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=False)

    def stop(self) -> None:
        stop_server(self.server, self.thread)
        self.engine.dispose()


@pytest.fixture
def app(home: Home) -> Iterator[LiveApp]:
    live = LiveApp(home)
    yield live
    live.stop()
