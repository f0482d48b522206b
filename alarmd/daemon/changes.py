"""Every node sees every change: the change log read twice a second, woken by NOTIFY on PostgreSQL.

The read (AlarmService.take_changes) is the truth and the safety net; PostgreSQL's
LISTEN/NOTIFY only makes it prompt. A listener connection that drops is opened again
with backoff, and while it is down the periodic read still runs.
"""

from __future__ import annotations

import logging
import select
import threading
from typing import Any

from alarmd.alarms.service import AlarmService
from alarmd.config.database import PostgresDatabase
from alarmd.store.changes import CHANNEL

log = logging.getLogger("alarmd.changes")

POLL_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0


class ChangeWatcher:
    def __init__(self, service: AlarmService, database: Any):
        self.service = service
        self.database = database
        self._lock = threading.Lock()
        self._last = service.latest_change()
        self._stop = threading.Event()

    def poll(self) -> None:
        # One read at a time: the periodic job and a notification may meet.
        with self._lock:
            self._last = self.service.take_changes(self._last)

    def start_listening(self) -> None:
        if isinstance(self.database, PostgresDatabase):
            threading.Thread(target=self._listen, args=(self.database,), name="listen", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self, database: PostgresDatabase) -> None:
        import psycopg

        backoff = 1.0
        while not self._stop.is_set():
            try:
                with psycopg.connect(database.url, password=database.password, autocommit=True,
                                     connect_timeout=5, application_name="alarmd-listen") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    backoff = 1.0
                    while not self._stop.is_set():
                        # Wait on the socket, so the stop flag is seen within a second.
                        if select.select([conn.fileno()], [], [], 1.0)[0]:
                            if any(True for _ in conn.notifies(timeout=0, stop_after=100)):
                                self.poll()
                        else:
                            conn.execute("SELECT 1")  # notices a dead server
            except Exception as exc:  # whatever failed: connect again; the periodic read covers the gap
                log.warning("listening for changes on the database failed (%s); retrying in %.0f s",
                            type(exc).__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
