"""The use cases, one method each. The CLI (through the API), the API and the scheduler all come here.

AlarmService is a thin façade over seven focused services: editing alarms
(alarms.editing), skipping rings (alarms.skipping), claiming and firing occurrences
(alarms.firing), reading alarms, history and status (alarms.reports), the keepalive
(alarms.keepalive), putting a reloaded configuration in force (alarms.reloading), and the
web page's sessions and sign-in links (alarms.signin). Methods
return JSON-ready dicts (the API's and the CLI's shapes live in one place) and raise
alarmd.errors for bad input. Instants in and out are aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.alarms.cluster import Cluster
from alarmd.alarms.editing import AlarmEditor
from alarmd.alarms.firing import Firing
from alarmd.alarms.inputs import AlarmInput, SkipDays
from alarmd.alarms.keepalive import Keepalive
from alarmd.alarms.pins import NumberCheck
from alarmd.alarms.reloading import Reloading
from alarmd.alarms.reports import Reports
from alarmd.alarms.signin import SignIn
from alarmd.alarms.skipping import Skips
from alarmd.calls.dialers.base import Dialer
from alarmd.calls.live import LiveConfig, UsesLive, live_from
from alarmd.config.settings import Settings
from alarmd.phonebook import Phonebook

__all__ = ["AlarmInput", "AlarmService", "SkipDays"]


class AlarmService(UsesLive):
    """`settings`, `phonebook` and `dialer` are the configuration in force (they change on reload)."""

    def __init__(self, sessions: sessionmaker[Session], dialer: Dialer, settings: Settings,
                 phonebook: Phonebook, node_id: str | None = None):
        self.sessions = sessions
        self.live = LiveConfig(live_from(settings, dialer, phonebook))
        self._listeners: list[Callable[[int], None]] = []
        self.firing = Firing(sessions, self.live, node_id)
        self.cluster = Cluster(sessions, self.live, self.firing.owner.partition("/")[0])
        self.keepalive = Keepalive(sessions, self.live)
        self.editor = AlarmEditor(sessions, self.live, self._changed)
        self.skips = Skips(sessions, self.live, self._changed)
        self.reports = Reports(sessions, self.live, self.keepalive.status)
        self.reloading = Reloading(self.live)
        self.numbers_check = NumberCheck(sessions, self.live)
        # First of the "settings were (re)loaded" listeners: pins follow the config before anything else looks.
        self.reloading.on_settings_loaded(self.check_numbers)
        self.signin = SignIn(sessions)
        self.on_alarm_change(self.firing.alarm_changed)

    # --- wiring -------------------------------------------------------------------

    def on_alarm_change(self, listener: Callable[[int], None]) -> None:
        """Call `listener(alarm_id)` after an alarm is added, changed or removed."""
        self._listeners.append(listener)

    def on_dispatch(self, dispatcher: Callable[[int], None]) -> None:
        """Have `dispatcher(occurrence_id)` dial a claimed occurrence off the caller's thread."""
        self.firing.on_dispatch(dispatcher)

    def on_call_failed(self, listener: Callable[[str], None]) -> None:
        """Call `listener(sentence)` (masked) when a call fails for good: failed, or refused by the cost guard."""
        self.firing.on_call_failed(listener)

    def on_settings_loaded(self, listener: Callable[[], object]) -> None:
        """Call `listener()` after the settings were (re)loaded and put in force."""
        self.reloading.on_settings_loaded(listener)

    def check_numbers(self) -> list[str]:
        """Run whenever the settings are (re)loaded: pin what was stored before pins, follow
        renames and new numbers, flag alarms whose person is not configured (alarms.pins)."""
        phonebook = self.phonebook
        forgotten = self.reports.forget_warnings()
        found = self.numbers_check.run()
        self.reports.remember_warnings(phonebook, found, forgotten)
        return found

    def _changed(self, alarm_id: int) -> None:
        self.reports.forget_warnings()
        for listener in self._listeners:
            listener(alarm_id)

    # --- several nodes on one database ------------------------------------------------

    def latest_change(self) -> int:
        return self.cluster.latest_change()

    def take_changes(self, last: int) -> int:
        """Tell the listeners about every alarm changed (by any node) after change `last`; the newest id."""
        newest, alarm_ids = self.cluster.changes_since(last)
        for alarm_id in sorted(alarm_ids):
            self._changed(alarm_id)
        return newest

    def heartbeat(self) -> None:
        self.cluster.heartbeat()

    def cluster_warnings(self, now: datetime) -> list[str]:
        return self.cluster.warnings(now)

    # --- editing alarms -------------------------------------------------------------

    def add_alarm(self, given: AlarmInput, now: datetime) -> dict[str, Any]:
        return self.editor.add(given, now)

    def edit_alarm(self, ref: int | str, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
        return self.editor.edit(ref, changes, now)

    def remove_alarm(self, ref: int | str) -> dict[str, Any]:
        return self.editor.remove(ref)

    def pause_alarm(self, ref: int | str, until: str | None, now: datetime) -> dict[str, Any]:
        return self.editor.pause(ref, until, now)

    def resume_alarm(self, ref: int | str, now: datetime) -> dict[str, Any]:
        return self.editor.resume(ref, now)

    def skip_alarm(self, ref: int | str, days: SkipDays, now: datetime) -> dict[str, Any]:
        return self.skips.skip(ref, days, now)

    def unskip_alarm(self, ref: int | str, days: SkipDays, now: datetime) -> dict[str, Any]:
        return self.skips.unskip(ref, days, now)

    # --- claiming and firing --------------------------------------------------------

    def claim_due(self, alarm_id: int, now: datetime) -> list[int]:
        try:
            return self.firing.claim_due(alarm_id, now)
        finally:
            self.reports.forget_warnings()  # a one-off that rang has no warning left

    def fire_occurrence(self, occurrence_id: int) -> None:
        self.firing.fire_occurrence(occurrence_id)

    def resumable_occurrences(self) -> list[int]:
        return self.firing.resumable_occurrences()

    def dial_now(self, to: int | str, now: datetime) -> dict[str, Any]:
        return self.firing.dial_now(to, now)

    def request_stop(self) -> None:
        self.firing.request_stop()

    def wait_idle(self, timeout: float) -> bool:
        return self.firing.wait_idle(timeout)

    # --- reading: alarms, next rings, numbers, history, status ------------------------

    def list_alarms(self) -> list[dict[str, Any]]:
        return self.reports.list_alarms()

    def get_alarm(self, ref: int | str) -> dict[str, Any]:
        return self.reports.get_alarm(ref)

    def alarm_ids(self) -> list[int]:
        return self.reports.alarm_ids()

    def alarms_due_by(self, after: datetime | None,
                      until: datetime) -> tuple[list[tuple[int, datetime]], datetime | None]:
        return self.reports.due_by(after, until)

    def next_fire_at(self, alarm_id: int) -> datetime | None:
        return self.reports.next_fire_at(alarm_id)

    def upcoming(self, ref: int | str, count: int) -> dict[str, Any]:
        return self.reports.upcoming(ref, count)

    def upcoming_all(self, count: int) -> list[dict[str, Any]]:
        return self.reports.upcoming_all(count)

    def numbers(self) -> list[dict[str, Any]]:
        return self.reports.numbers()

    def history(self, limit: int = 50, alarm_ref: int | str | None = None,
                before: str | None = None) -> list[dict[str, Any]]:
        return self.reports.history(limit, alarm_ref, before)

    def status(self) -> dict[str, Any]:
        now = clock.now()
        return self.reports.status() | {"nodes": self.cluster.nodes(now)}

    def warnings(self) -> list[str]:
        return self.reports.warnings()

    # --- the keepalive --------------------------------------------------------------

    def record_first_start(self, now: datetime) -> datetime:
        return self.keepalive.record_first_start(now)

    def keepalive_wake_at(self, now: datetime) -> datetime | None:
        return self.keepalive.wake_at(now)

    def claim_keepalive(self, now: datetime) -> int | None:
        return self.keepalive.claim(now)

    def keepalive_warning(self, now: datetime) -> str | None:
        return self.keepalive.warning(now)

    def log_keepalive_warning(self, now: datetime) -> None:
        self.keepalive.log_warning(now)

    def keepalive_status(self, now: datetime) -> dict[str, Any]:
        return self.keepalive.status(now)

    # --- the configuration ------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> None:
        """Reload: new work uses `settings` from now on; calls in flight keep theirs."""
        self.reloading.apply(settings)

    def settings_loaded(self) -> None:
        """Tell the listeners the settings in force were loaded (the daemon calls it once at start)."""
        self.reloading.settings_loaded()

    # --- the web page's sign-in ---------------------------------------------------------

    def open_web_session(self, now: datetime) -> str:
        return self.signin.open_session(now)

    def web_session_valid(self, session_id: str, now: datetime) -> bool:
        return self.signin.session_valid(session_id, now)

    def close_web_session(self, session_id: str) -> None:
        self.signin.close_session(session_id)

    def issue_sign_in_link(self, now: datetime) -> tuple[str, datetime]:
        return self.signin.issue_link(now)

    def redeem_sign_in_link(self, code: str, now: datetime) -> str | None:
        return self.signin.redeem_link(code, now)

    def sign_out_all_web_sessions(self) -> int:
        return self.signin.sign_out_all()
