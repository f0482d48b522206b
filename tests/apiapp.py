"""The API in this process: create_app wired as daemon.run wires it, served by uvicorn
on a free loopback port, over a real SQLite file, with a started scheduler.

Tests reach it with httpx over real HTTP and can look at the service and database
directly. (fastapi's TestClient is not used: it warns that its httpx use is deprecated.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from alarmd.alarms.service import AlarmService
from alarmd.api.app import create_app
from alarmd.calls.dialers import make_dialer
from alarmd.config.settings import Settings, load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.daemon.scheduler import AlarmScheduler
from alarmd.store.db import session_factory
from tests.conftest import API_TOKEN, Home, free_port, stop_server, wait_until


@dataclass
class LiveApi:
    home: Home
    settings: Settings
    service: AlarmService
    scheduler: AlarmScheduler
    client: httpx.Client  # sends the valid token
    url: str

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.home.rows(sql, *params)

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT count(*) FROM {table}")[0][0])

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        return wait_until(predicate, timeout)


@contextmanager
def live_api(home: Home, twilio: dict[str, Any] | None = None, **alarmd: Any) -> Iterator[LiveApi]:
    home.migrated().write_config(twilio, **alarmd)
    settings = load_settings(home.config_path, env={"HOME": str(home.root / "home")})
    engine = open_database(settings)
    service = AlarmService(session_factory(engine), make_dialer(settings.twilio), settings,
                           phonebook_of(settings))
    scheduler = AlarmScheduler(service)
    scheduler.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        create_app(service, API_TOKEN, scheduler.is_alive), host="127.0.0.1", port=port,
        log_config=None, access_log=False, lifespan="off",
    ))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the API did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30)
    try:
        yield LiveApi(home, settings, service, scheduler, client, url)
    finally:
        # Stopped in the order `alarmd run` stops: a call still being followed is told to
        # stop waiting (it stays resumable) rather than waited out.
        client.close()
        stop_server(server, thread)
        service.request_stop()
        scheduler.shutdown()
        service.wait_idle(5)
        engine.dispose()
