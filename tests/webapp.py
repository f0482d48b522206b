"""The daemon's app (API and web page, as alarmd.daemon.wiring joins them) in this process,
over a real SQLite file, driven through Starlette's TestClient.

The scheduler is not started: the page's tests look at what is stored and shown, and a
test call goes to the dialer on a thread of its own, as it does in the daemon.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from alarmd.alarms.service import AlarmService
from alarmd.calls.dialers import make_dialer
from alarmd.config.settings import Settings, load_settings
from alarmd.daemon.main import open_database, phonebook_of
from alarmd.daemon.wiring import make_app
from alarmd.store.db import session_factory
from tests.conftest import API_TOKEN, Home

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@dataclass
class WebApp:
    home: Home
    settings: Settings
    service: AlarmService
    client: TestClient

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.home.rows(sql, *params)

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT count(*) FROM {table}")[0][0])

    def fresh_client(self, **kwargs: Any) -> TestClient:
        return TestClient(self.client.app, follow_redirects=False, **kwargs)

    def csrf(self, path: str = "/", client: TestClient | None = None) -> str:
        page = (client or self.client).get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code} {page.text[:300]}"
        return found.group(1)

    def sign_in(self, client: TestClient | None = None) -> TestClient:
        client = client or self.client
        token = self.csrf("/login", client)
        answer = client.post("/login", data={"token": API_TOKEN, "csrf": token})
        assert answer.status_code == 303, answer.text
        return client

    def post(self, path: str, data: dict[str, Any] | None = None, client: TestClient | None = None) -> Any:
        client = client or self.client
        return client.post(path, data={"csrf": self.csrf("/", client), **(data or {})})


@contextmanager
def web_app(home: Home, twilio: dict[str, Any] | None = None, **alarmd: Any) -> Iterator[WebApp]:
    home.migrated().write_config(twilio, **alarmd)
    settings = load_settings(home.config_path, env={"HOME": str(home.root / "home")})
    engine = open_database(settings)
    service = AlarmService(session_factory(engine), make_dialer(settings.twilio), settings,
                           phonebook_of(settings))
    client = TestClient(make_app(service, API_TOKEN, lambda: True), follow_redirects=False)
    try:
        yield WebApp(home, settings, service, client)
    finally:
        client.close()
        service.request_stop()
        service.wait_idle(5)
        engine.dispose()
