"""What a reload changes: the keys whose values differ, and those that only a restart can change.

Pure: two Settings in, names and sentences out. The listen address, the database and the
API token stay as the daemon started with them (its socket is bound, its engine open,
its API's guard holds the token); everything else is put in force by alarmd.daemon.reload.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import TypeAdapter
from pydantic.dataclasses import is_pydantic_dataclass

from alarmd.config.settings import Settings

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
        if item.name not in RESTART_ONLY_FIELDS:
            _compare(old, new, item, found)
    return found


def _compare(old: Any, new: Any, item: dataclasses.Field[Any], found: list[str]) -> None:
    """A field of Settings names its key; a file's block (pydantic) names its own by alias."""
    before, after = getattr(old, item.name), getattr(new, item.name)
    if before == after:
        return
    key = item.metadata["key"]
    if is_pydantic_dataclass(type(before)):
        adapter = TypeAdapter(type(before))
        before_keys = _flatten(key, adapter.dump_python(before, by_alias=True))
        after_keys = _flatten(key, adapter.dump_python(after, by_alias=True))
        found.extend(name for name, value in before_keys.items() if after_keys.get(name) != value)
    elif dataclasses.is_dataclass(before):
        for inner in dataclasses.fields(before):
            _compare(before, after, inner, found)
    else:
        found.append(key)


def _flatten(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {key: value}
    return {name: inner for part, block in value.items() for name, inner in _flatten(f"{key}.{part}", block).items()}
