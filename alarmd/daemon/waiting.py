"""A node whose database is unreachable at start waits for it, instead of exiting.

Exiting would have systemd restart it five times and then give up for good
(StartLimitBurst), and every wake-up after that would be lost. So it keeps trying with
backoff, tells systemd why (STATUS=), and keeps feeding the watchdog meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from alarmd.config.settings import Settings
from alarmd.daemon.sdnotify import Notifier
from alarmd.store.trouble import database_trouble

log = logging.getLogger("alarmd")

FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0


def open_database_patiently(open_database: Callable[[], Engine], settings: Settings, notifier: Notifier,
                            stop: threading.Event) -> Engine | None:
    """`open_database()`'s engine, its schema at head; None when told to stop while still waiting."""
    wait = FIRST_WAIT_SECONDS
    while True:
        try:
            return open_database()
        except DBAPIError as exc:
            cause = database_trouble(exc)
            if cause is None:
                raise
            log.warning("waiting for the database %s: %s; trying again in %.0f s", settings.database, cause, wait)
            notifier.status(f"waiting for the database: {cause}")
        deadline = wait
        while deadline > 0:
            # Fed while waiting: the process is healthy, only its database is not there yet.
            notifier.watchdog()
            step = min(deadline, (notifier.watchdog_interval or 10.0) / 2)
            if stop.wait(step):
                return None
            deadline -= step
        wait = min(wait * 2, MAX_WAIT_SECONDS)
