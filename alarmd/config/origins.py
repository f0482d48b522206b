"""`alarmd config show`: every effective setting, where it came from, and no secret in it.

Like `git config --show-origin`: each key's value as the daemon would use it, and its
origin, one of the file (with its path), the environment (the variable), a credential
(systemd's LoadCredential= name) or the default, in the order loading applies them:
credential, then environment, then file, then default (alarmd.config.file's tables).
Secrets (twilio.authToken, alarmd.apiToken) show only whether they are set; secret
numbers show only their masked digits.

A key added to Settings is shown by adding one row to ROWS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alarmd import defaults
from alarmd.config.apitoken import token_files
from alarmd.config.file import Env, override, read_config
from alarmd.config.settings import Settings, load_settings

MASK = "********"
# A healthchecks.io check's URL lets anyone ping (or silence) the check: shown masked too.
SECRETS = {"twilio.authToken", "alarmd.apiToken", "alarmd.heartbeat.url"}


@dataclass(frozen=True)
class Shown:
    key: str
    value: Any
    origin: str  # file | environment | credential | default
    source: str | None  # the file's path, the variable, the credential's name; None for a default

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "origin": self.origin, "source": self.source}


Row = tuple[str, Callable[[Settings], Any]]
ROWS: list[Row] = [
    ("twilio.enabled", lambda s: s.twilio.enabled),
    ("twilio.accountSID", lambda s: s.twilio.account_sid),
    ("twilio.authToken", lambda s: s.twilio.auth_token),
    ("twilio.numberFrom", lambda s: _international(s.twilio.number_from)),
    ("twilio.callingURI", lambda s: s.twilio.calling_uri),
    ("twilio.apiBaseURL", lambda s: s.twilio.api_base_url or "https://api.twilio.com"),
    ("alarmd.database", lambda s: str(s.database)),
    ("alarmd.timezone", lambda s: s.timezone),
    ("alarmd.listen", lambda s: f"{s.client.listen_host}:{s.client.listen_port}"),
    ("alarmd.apiToken", lambda s: s.client.api_token),
    ("alarmd.graceSeconds", lambda s: s.grace_seconds),
    ("alarmd.keepalive.enabled", lambda s: s.keepalive.enabled),
    ("alarmd.keepalive.everyDays", lambda s: s.keepalive.every_days),
    ("alarmd.keepalive.number", lambda s: s.keepalive.number),
    ("alarmd.keepalive.at", lambda s: s.keepalive.at),
    ("alarmd.keepalive.ringSeconds", lambda s: s.keepalive.ring_seconds),
    ("alarmd.redial.attempts", lambda s: s.redial.attempts),
    ("alarmd.redial.intervalSeconds", lambda s: s.redial.interval_seconds),
    ("alarmd.redial.firstRetrySeconds", lambda s: s.redial.first_retry_seconds),
    ("alarmd.redial.maxRetrySeconds", lambda s: s.redial.max_retry_seconds),
    ("alarmd.redial.pollSeconds", lambda s: s.redial.poll_seconds),
    ("alarmd.redial.pollMarginSeconds", lambda s: s.redial.poll_margin_seconds),
    ("alarmd.redial.requestTimeoutSeconds", lambda s: s.redial.request_timeout_seconds),
    ("alarmd.redial.requireHuman", lambda s: s.redial.require_human),
    ("alarmd.redial.unknownIsAnswer", lambda s: s.redial.unknown_is_answer),
    ("alarmd.limits.callsPerHour", lambda s: s.calls_per_hour),
    ("alarmd.limits.dialsPerHour", lambda s: s.dials_per_hour),
    ("alarmd.heartbeat.url", lambda s: s.heartbeat.url),
    ("alarmd.heartbeat.everySeconds", lambda s: s.heartbeat.every_seconds),
]


def show(config_arg: str | os.PathLike[str] | None, env: Env) -> tuple[Settings, list[Shown]]:
    """The settings as loaded (ConfigError if they do not load) and every key as shown."""
    settings = load_settings(config_arg, env)
    raw, _ = read_config(config_arg, env)
    path = str(settings.client.config_path) if settings.client.config_path else None
    shown = []
    for key, value_of in ROWS:
        origin, source = _origin(key, raw, path, env)
        value = value_of(settings)
        if key == "alarmd.apiToken" and origin == "default":
            origin, source = _token_file(settings)
            value = MASK if origin == "file" else None
        if key == "alarmd.timezone" and origin == "default":
            from_tz = env.get("TZ", "").lstrip(":") == value
            origin, source = ("environment", "TZ") if from_tz else ("default", "the system's zone")
        shown.append(Shown(key, MASK if key in SECRETS and value else value, origin, source))
        if key == "twilio.apiBaseURL":
            shown.extend(_numbers(settings, raw, path))
    return settings, shown


def _origin(key: str, raw: Mapping[str, Any], path: str | None, env: Env) -> tuple[str, str | None]:
    given = override(key, env)
    if given:
        return given.origin, given.source
    if path and _in_file(raw, key):
        return "file", path
    return "default", None


def _in_file(raw: Mapping[str, Any], key: str) -> bool:
    value: Any = raw
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    # An empty string is what the starter config holds for "not set yet": the default applies.
    return value is not None and not (isinstance(value, str) and not value.strip())


def _numbers(settings: Settings, raw: Mapping[str, Any], path: str | None) -> list[Shown]:
    from alarmd.phonebook import international, mask

    entries = settings.twilio.phone_numbers
    if not entries:
        return [Shown("twilio.phoneNumbers", [], "default", None)]
    listed = raw.get("twilio", {}).get("phoneNumbers", [])
    shown = []
    for i, entry in enumerate(entries):
        given = listed[i] if i < len(listed) else {}
        fields = {"name": entry.name, "number": mask(entry.number) if entry.secret else international(entry.number),
                  "hidden": entry.hidden, "secret": entry.secret}
        for name, value in fields.items():
            origin = ("file", path) if name in given else ("default", None)
            shown.append(Shown(f"twilio.phoneNumbers[{i}].{name}", value, *origin))
    return shown


def _token_file(settings: Settings) -> tuple[str, str | None]:
    """Where the CLI finds the API token when none is configured: a file, else the daemon makes one."""
    for path in token_files(settings.client):
        if _readable_token(path):
            return "file", str(path)
    return "default", f"made on first start in {settings.client.state_dir / defaults.TOKEN_FILENAME}"


def _readable_token(path: Path) -> bool:
    try:
        return bool(path.read_text(encoding="utf-8").strip())
    except OSError:
        return False


def _international(e164: str | None) -> str | None:
    from alarmd.phonebook import international

    return international(e164) if e164 else None
