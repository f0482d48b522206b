"""What a reload changes: the keys whose values differ, and those that only a restart can change.

Pure: two Settings in, names and sentences out. The listen address, the database and the
API token stay as the daemon started with them (its socket is bound, its engine open,
its API's guard holds the token); everything else is put in force by alarmd.daemon.reload.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from alarmd.config.settings import Settings

# Settings fields whose config key is not "alarmd." + the field in camelCase.
KEYS = {
    "twilio": "twilio",
    "calls_per_hour": "alarmd.limits.callsPerHour",
    "dials_per_hour": "alarmd.limits.dialsPerHour",
    "twilio.account_sid": "twilio.accountSID",
    "twilio.calling_uri": "twilio.callingURI",
    "twilio.api_base_url": "twilio.apiBaseURL",
}
# Not compared here: the client settings (listen, API token) and the database are restart-only.
RESTART_ONLY_FIELDS = ("client", "database", "heartbeat")


def restart_needed(old: Settings, new: Settings) -> list[str]:
    """One sentence per value the file (or environment) changed that only a restart puts in force."""
    found = []
    old_listen = f"{old.client.listen_host}:{old.client.listen_port}"
    new_listen = f"{new.client.listen_host}:{new.client.listen_port}"
    if old_listen != new_listen:
        found.append(f"alarmd.listen needs a restart: still listening on {old_listen}, not {new_listen}.")
    if old.database != new.database:
        found.append(f"alarmd.database needs a restart: still using {old.database}.")
    if old.heartbeat != new.heartbeat:
        # Never the URL itself: a healthchecks.io check's URL is as good as a password.
        found.append("alarmd.heartbeat needs a restart: the daemon keeps pinging the check it started with.")
    if old.client.api_token != new.client.api_token:
        # Never the token itself: this sentence goes to the log and to the CLI.
        found.append("the API token needs a restart: the daemon keeps the one it started with.")
    return found


def in_force(old: Settings, new: Settings) -> Settings:
    """`new`, with the restart-only values kept from `old` (the config file's path follows `new`)."""
    client = old.client._replace(config_path=new.client.config_path)
    return dataclasses.replace(new, client=client, database=old.database, heartbeat=old.heartbeat)


def changed_keys(old: Settings, new: Settings) -> list[str]:
    """The config keys whose values differ, in Settings' order (secrets named, never shown)."""
    found: list[str] = []
    for item in dataclasses.fields(old):
        if item.name in RESTART_ONLY_FIELDS:
            continue
        _compare(item.name, getattr(old, item.name), getattr(new, item.name), found)
    return found


def _compare(path: str, old: Any, new: Any, found: list[str]) -> None:
    if old == new:
        return
    if dataclasses.is_dataclass(old) and dataclasses.is_dataclass(new) and type(old) is type(new):
        for item in dataclasses.fields(old):
            _compare(f"{path}.{item.name}", getattr(old, item.name), getattr(new, item.name), found)
        return
    found.append(config_key(path))


def config_key(path: str) -> str:
    """"redial.interval_seconds" -> "alarmd.redial.intervalSeconds"; "twilio.auth_token" -> "twilio.authToken"."""
    if path in KEYS:
        return KEYS[path]
    parts = [_camel(part) for part in path.split(".")]
    return ".".join(parts) if parts[0] == "twilio" else "alarmd." + ".".join(parts)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)
