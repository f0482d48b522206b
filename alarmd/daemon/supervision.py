"""What the daemon tells its supervisor (systemd) and its operator at start.

The status line shown by `systemctl status alarmd`, the heartbeat that feeds systemd's
watchdog from the scheduler's own loop, the readiness probe, and the warning about a
Twilio auth token left in a config file that every user can read.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import stat
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alarmd import clock
from alarmd.config.file import read_config_file
from alarmd.daemon.sdnotify import Notifier
from alarmd.errors import ConfigError
from alarmd.store import trouble
from alarmd.store.trouble import database_trouble

if TYPE_CHECKING:
    from alarmd.alarms.service import AlarmService
    from alarmd.daemon.scheduler import AlarmScheduler

log = logging.getLogger("alarmd")

# The status line is refreshed this often (and whenever an alarm changes), so it follows
# alarms that fired and moved on.
STATUS_REFRESH_SECONDS = 60.0
CREDENTIAL_PATH = "/etc/alarmd/twilio-auth-token"


def status_line(status: dict[str, Any], now: datetime) -> str:
    """The line for `systemctl status`, e.g. "next alarm Fri 07:00; dry-run".

    Built from service.status(); the date is added when the alarm is not this week.
    """
    upcoming = status.get("next_alarm")
    when = upcoming.get("next_ring_local") if upcoming else None
    if when:
        local = datetime.fromisoformat(when)
        shape = "%a %H:%M" if local - now < timedelta(days=6) else "%a %Y-%m-%d %H:%M"
        head = f"next alarm {local.strftime(shape)}"
    else:
        head = "no alarm due"
    return f"{head}; {status.get('mode', 'unknown')}"


class StatusReporter:
    """Sends STATUS= when the line changes; safe to call from any thread."""

    def __init__(self, notifier: Notifier, current: Callable[[], str]):
        self.notifier = notifier
        self.current = current
        self._last: str | None = None
        self._lock = threading.Lock()

    def line(self) -> str:
        with self._lock:
            self._last = self.current()
            return self._last

    def refresh(self, *_: object) -> None:
        try:
            cause = trouble.current()
            line = f"database unavailable: {cause}" if cause else self.current()
        except Exception as exc:
            cause = database_trouble(exc)
            if cause is None:
                # The status line is a courtesy; a failure to build it must not spread.
                log.exception("could not build the status line")
                return
            line = f"database unavailable: {cause}"
        with self._lock:
            if line == self._last:
                return
            self._last = line
        self.notifier.status(line)


class Supervisor:
    """sd_notify for one run of the daemon; every method is a no-op outside systemd."""

    def __init__(self, notifier: Notifier, service: AlarmService, scheduler: AlarmScheduler):
        self.notifier = notifier
        self.scheduler = scheduler
        self.status = StatusReporter(notifier, lambda: status_line(service.status(), clock.now()))
        if notifier.enabled:
            service.on_alarm_change(self.status.refresh)
            service.on_settings_loaded(self.status.refresh)

    def start(self) -> None:
        """Start the status and watchdog jobs (the scheduler must be running)."""
        if self.notifier.enabled:
            self.scheduler.every("status", STATUS_REFRESH_SECONDS, self.status.refresh)
        if self.notifier.watchdog_interval:
            # Sent from the scheduler's loop: if that thread dies the pings stop and
            # systemd's watchdog restarts the service.
            self.scheduler.every("watchdog", self.notifier.watchdog_interval, self.notifier.watchdog)

    def ready(self, healthz_url: str, context: ssl.SSLContext | None = None) -> bool:
        """READY=1 once the API answers at `healthz_url` (over TLS: `context`); False if it never does."""
        if not self.notifier.enabled:
            return True
        if not api_answers(healthz_url, context=context):
            return False
        self.notifier.ready(self.status.line())
        return True

    def reloading(self) -> None:
        self.notifier.reloading()

    def reloaded(self) -> None:
        """READY=1 again after a reload, taken or refused: the daemon runs on either way."""
        if self.notifier.enabled:
            self.notifier.ready(self.status.line())

    def stopping(self) -> None:
        self.notifier.stopping()


def api_answers(url: str, attempts: int = 50, pause: float = 0.1,
                context: ssl.SSLContext | None = None) -> bool:
    """True once GET `url` answers 200 (the daemon asks its own /healthz before READY=1)."""
    # Imported here: only a daemon under systemd asks, and the rest hold it all day for nothing.
    import urllib.request

    for _ in range(attempts):
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2, context=context) as response:
            if response.status == 200:
                return True
        threading.Event().wait(pause)
    return False


def how_to_call_for_real(path: Path | None) -> str:
    """The fix for dry-run mode, for the start's log line."""
    where = f"in {path}" if path else "in a config file (`alarmd config init` writes one)"
    return (f"to call for real, set twilio.accountSID, the auth token and twilio.numberFrom {where}, "
            "set twilio.enabled to true, and check them with `alarmd config check --online`")


def warn_if_auth_token_exposed(path: Path | None) -> None:
    warning = exposed_auth_token_warning(path)
    if warning:
        log.warning("%s", warning)


def exposed_auth_token_warning(path: Path | None) -> str | None:
    """A warning when the config file is world-readable and holds twilio.authToken."""
    if path is None:
        return None
    try:
        if not path.stat().st_mode & stat.S_IROTH:
            return None
        raw = read_config_file(path, required=False)
    except (OSError, ConfigError):
        return None
    twilio = raw.get("twilio")
    if not isinstance(twilio, dict) or not twilio.get("authToken"):
        return None
    return (
        f"{path} is readable by every user and holds twilio.authToken; move the token into a "
        f"credential: write it to {CREDENTIAL_PATH} (owner root, mode 0600), which alarmd.service "
        "loads with LoadCredential=twilio-auth-token, and delete authToken from the config file "
        "(outside systemd: set TWILIO_AUTH_TOKEN or chmod 600 the file)."
    )
