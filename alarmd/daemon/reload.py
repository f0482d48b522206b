"""Reloading the config without a restart: SIGHUP, and `alarmd config reload` (POST /v1/reload).

The file is read again as at start (the same --config or lookup), with the environment
the daemon started with and the credential files as they are now. A file that does not
load is refused with its one sentence, and the old config stays in force: no alarm is
lost, no call dropped. One that loads is put in force for new work at once
(alarmd.alarms.reloading); calls in flight finish with what they started with. The
listen address, the database and the API token need a restart, and say so.

Under systemd, RELOADING=1 is sent before and READY=1 after, taken or refused.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alarmd.config import changes
from alarmd.config.settings import Settings, load_settings
from alarmd.daemon import supervision
from alarmd.errors import ConfigError

if TYPE_CHECKING:
    from alarmd.alarms.service import AlarmService

log = logging.getLogger("alarmd")

CREDENTIALS_NOTE = ("systemd copied the credentials (twilio-auth-token, api-token) when the service started; "
                    "a rotated one needs `systemctl restart alarmd`.")


class Reloader:
    def __init__(self, settings: Settings, config_arg: str | os.PathLike[str] | None, env: Mapping[str, str],
                 service: AlarmService, supervisor: supervision.Supervisor):
        self.settings = settings
        self.config_arg = config_arg
        self.env = dict(env)  # as the daemon started: a reload never sees a later environment
        self.service = service
        self.supervisor = supervisor
        self._lock = threading.Lock()

    def reload(self, via: str) -> dict[str, Any]:
        """Read the config again and put it in force; the answer for the API. Raises ConfigError."""
        with self._lock:
            self.supervisor.reloading()
            try:
                return self._reload(via)
            finally:
                self.supervisor.reloaded()

    def reload_logged(self, via: str) -> None:
        """For SIGHUP, which has nobody to answer: the outcome is in the log only."""
        try:
            self.reload(via)
        except ConfigError:
            pass  # logged by _reload
        except Exception:
            log.exception("config reload (%s) failed; the old config stays in force", via)

    def _reload(self, via: str) -> dict[str, Any]:
        old = self.settings
        try:
            loaded = load_settings(self.config_arg, self.env)
            if old.client.config_path is not None and loaded.client.config_path is None:
                # No file means the defaults at start; after one was read it is far more
                # likely a mistake (or an editor between delete and write) than a wish
                # to call nobody.
                raise ConfigError(f"{old.client.config_path}: the config file is gone; a restart would run on "
                                  "the defaults.")
        except ConfigError as exc:
            log.error("config reload (%s) refused: %s The old config stays in force.", via, exc)
            raise
        restart = changes.restart_needed(old, loaded)
        new = changes.in_force(old, loaded)
        changed = changes.changed_keys(old, new)
        self.service.apply_settings(new)
        self.settings = new
        source = str(new.client.config_path or "no config file (defaults)")
        reason = new.twilio.dry_run_reason
        mode = "dry-run" if reason else "twilio"
        log.info("config reloaded (%s) from %s: %s; mode %s%s", via, source,
                 "changed " + ", ".join(changed) if changed else "nothing changed", mode,
                 f" ({reason})" if reason else "")
        for sentence in restart:
            log.warning("%s", sentence)
        supervision.warn_if_auth_token_exposed(new.client.config_path)
        notes = [CREDENTIALS_NOTE] if self.env.get("CREDENTIALS_DIRECTORY") else []
        return {
            "config": str(new.client.config_path) if new.client.config_path else None,
            "mode": mode,
            "dry_run_reason": reason,
            "numbers": len(new.twilio.phone_numbers),
            "changed": changed,
            "needs_restart": restart,
            "notes": notes,
        }
