"""The configuration in force: settings, the numbers and the dialer made from them, swapped whole on reload.

A reload (SIGHUP, `alarmd config reload`) builds a new `Live` and puts it in the
`LiveConfig` holder in one assignment, so new work sees either the old configuration or
the new one, never half of each. A delivery pins the one it started with for its whole
run: a call in flight, its redials and its fallback finish with the numbers, callingURI,
redial settings and dialer they began with.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from alarmd.calls.dialers import make_dialer
from alarmd.calls.dialers.base import Dialer
from alarmd.config.settings import Settings
from alarmd.phonebook import Phonebook, PhoneNumber
from alarmd.store.views import Views


@dataclass(frozen=True)
class Live:
    settings: Settings
    phonebook: Phonebook
    dialer: Dialer
    views: Views


def phonebook_of(settings: Settings) -> Phonebook:
    return Phonebook([
        PhoneNumber(i, e.name, e.number, e.hidden, e.secret)
        for i, e in enumerate(settings.twilio.phone_numbers)
    ], settings.client.config_path)


def live_from(settings: Settings, dialer: Dialer | None = None, phonebook: Phonebook | None = None) -> Live:
    """Everything the service needs from one loaded configuration (a dialer made from it unless given)."""
    phonebook = phonebook or phonebook_of(settings)
    if dialer is None:
        dialer = make_dialer(settings.twilio, timeout=settings.redial.request_timeout_seconds)
    return Live(settings, phonebook, dialer, Views(phonebook))


class LiveConfig:
    """Holds the Live in force; `pinned()` keeps one for the length of a delivery."""

    def __init__(self, first: Live):
        self._current = first
        self._lock = threading.Lock()
        # Per thread of work: each delivery runs on a thread of its own (daemon.scheduler),
        # and a new thread starts with nothing pinned.
        self._pinned: ContextVar[Live | None] = ContextVar(f"pinned-{id(self)}", default=None)

    def get(self) -> Live:
        return self._pinned.get() or self._current

    def replace(self, new: Live) -> Live:
        """Put `new` in force for all work that starts from now on; the one it replaced."""
        with self._lock:
            old, self._current = self._current, new
        return old

    @contextmanager
    def pinned(self) -> Iterator[Live]:
        """Use the configuration in force now until the block ends, whatever is reloaded meanwhile."""
        held = self._pinned.get()
        if held is not None:
            yield held
            return
        live = self._current
        token = self._pinned.set(live)
        try:
            yield live
        finally:
            self._pinned.reset(token)


class UsesLive:
    """The configuration in force, as attributes: what a service had as constructor arguments before reload."""

    live: LiveConfig

    @property
    def settings(self) -> Settings:
        return self.live.get().settings

    @property
    def phonebook(self) -> Phonebook:
        return self.live.get().phonebook

    @property
    def dialer(self) -> Dialer:
        return self.live.get().dialer

    @property
    def views(self) -> Views:
        return self.live.get().views
