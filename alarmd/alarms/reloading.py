"""Putting a reloaded configuration in force, and telling whoever depends on it.

The daemon reads and checks the file (alarmd.daemon.reload); this swaps the service's
configuration for new work in one step (alarmd.calls.live) and then calls the
"settings were (re)loaded" listeners: the scheduler sets the keepalive again, the status
line follows the mode. Work already under way keeps what it started with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alarmd.calls.live import Live, LiveConfig, live_from
from alarmd.config.settings import Settings

log = logging.getLogger("alarmd.service")


class Reloading:
    def __init__(self, live: LiveConfig):
        self.live = live
        self._listeners: list[Callable[[], object]] = []

    def on_settings_loaded(self, listener: Callable[[], object]) -> None:
        self._listeners.append(listener)

    def apply(self, settings: Settings) -> Live:
        """Put `settings` in force for everything that starts from now on; the Live it replaced."""
        old = self.live.replace(live_from(settings))
        self.settings_loaded()
        return old

    def settings_loaded(self) -> None:
        """Settings were (re)loaded: at start and after every reload.

        The one place for checks that judge stored alarms against the config in force
        (issue 12: alarms whose number left twilio.phoneNumbers are flagged here too).
        """
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                # The new configuration is in force already; a listener's failure is its own.
                log.exception("a check after loading the settings failed")
