"""alarmd.heartbeat: where the daemon's dead-man's switch is, and how often it is pinged."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alarmd import defaults
from alarmd.config.file import string
from alarmd.config.values import whole
from alarmd.errors import ConfigError


@dataclass(frozen=True)
class HeartbeatSettings:
    """A healthchecks.io-style check URL (alarmd.daemon.heartbeat pings it); None: no pings."""

    url: str | None = None
    every_seconds: int = defaults.DEFAULT_HEARTBEAT_EVERY_SECONDS


def heartbeat_settings(block: Mapping[str, Any]) -> HeartbeatSettings:
    url = string(block, "alarmd.heartbeat.url", "url")
    if url and not re.match(r"^https?://[^/\s]+", url):
        # Not echoed: a check's URL is all it takes to ping it.
        raise ConfigError("alarmd.heartbeat.url: expected an http(s) URL.")
    return HeartbeatSettings(
        url=url.rstrip("/") if url else None,
        every_seconds=whole(block, "alarmd.heartbeat.everySeconds", "everySeconds",
                            defaults.DEFAULT_HEARTBEAT_EVERY_SECONDS, 1, 86_400),
    )
