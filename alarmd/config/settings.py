"""Read the JSON config (+ environment, + systemd credentials) once into frozen Settings.

The `twilio` block is NMO's, read unchanged; alarmd's own settings live under `alarmd`.
Every bad value raises ConfigError whose message starts with the key's name. Apart from
alarmd.config.file (the part every command reads) and the proxy settings the Twilio
adapter resolves once at start, nothing else in alarmd reads the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alarmd import defaults
from alarmd.config.database import Database, parse_database
from alarmd.config.file import (
    ClientSettings,
    Env,
    credential,
    read_config,
    section,
    string,
)
from alarmd.config.heartbeat import HeartbeatSettings, heartbeat_settings
from alarmd.config.network import NetworkSettings, network_settings
from alarmd.config.values import boolean as _bool
from alarmd.config.values import seconds as _seconds
from alarmd.config.values import whole as _int
from alarmd.errors import ConfigError


@dataclass(frozen=True)
class NumberEntry:
    name: str | None
    number: str  # E.164
    hidden: bool
    secret: bool


@dataclass(frozen=True)
class TwilioSettings:
    enabled: bool = False
    account_sid: str | None = None
    auth_token: str | None = field(default=None, repr=False)
    number_from: str | None = None
    calling_uri: str = defaults.DEFAULT_CALLING_URI
    api_base_url: str | None = None
    phone_numbers: tuple[NumberEntry, ...] = ()

    @property
    def dry_run_reason(self) -> str | None:
        """Why calls go to the dry-run dialer, or None when Twilio is used."""
        if not self.enabled:
            return "twilio.enabled is not true"
        missing = [
            key
            for key, value in (
                ("accountSID", self.account_sid),
                ("authToken", self.auth_token),
                ("numberFrom", self.number_from),
            )
            if not value
        ]
        if missing:
            return "no Twilio " + ", ".join(missing) + " configured"
        return None


@dataclass(frozen=True)
class KeepaliveSettings:
    enabled: bool = True
    every_days: int = defaults.DEFAULT_KEEPALIVE_EVERY_DAYS
    number: int | str = 0
    at: str = defaults.DEFAULT_KEEPALIVE_AT
    ring_seconds: int = defaults.DEFAULT_KEEPALIVE_RING_SECONDS


@dataclass(frozen=True)
class RedialSettings:
    """alarmd.redial: how hard one occurrence tries to wake someone (see alarmd.calls.delivery)."""

    attempts: int = defaults.DEFAULT_REDIAL_ATTEMPTS  # calls per number, the first included
    interval_seconds: int = defaults.DEFAULT_REDIAL_INTERVAL_SECONDS
    # The knobs below exist so tests and impatient setups can shorten the waits.
    first_retry_seconds: float = defaults.FIRST_RETRY_SECONDS
    max_retry_seconds: float = defaults.MAX_RETRY_SECONDS
    poll_seconds: float = defaults.POLL_SECONDS
    poll_margin_seconds: float = defaults.POLL_MARGIN_SECONDS
    request_timeout_seconds: float = defaults.TWILIO_TIMEOUT_SECONDS
    # Answering machine detection: the default for alarms that do not say, and whether
    # "unknown" (detection could not tell, e.g. a silent pick-up) counts as an answer.
    require_human: bool = False
    unknown_is_answer: bool = True


@dataclass(frozen=True)
class Settings:
    client: ClientSettings
    database: Database  # a Path (SQLite) or a PostgresDatabase
    timezone: str
    grace_seconds: int
    twilio: TwilioSettings
    keepalive: KeepaliveSettings
    redial: RedialSettings = field(default_factory=RedialSettings)
    calls_per_hour: int = defaults.DEFAULT_CALLS_PER_HOUR
    # Manual dials' own cap inside calls_per_hour, so wake-ups always keep room.
    dials_per_hour: int = defaults.DEFAULT_CALLS_PER_HOUR // 2
    heartbeat: HeartbeatSettings = field(default_factory=HeartbeatSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)  # alarmd.tls, alarmd.trustProxy

    @property
    def api_token(self) -> str | None:
        return self.client.api_token


def load_settings(
    config_path: str | os.PathLike[str] | None = None, env: Env | None = None
) -> Settings:
    """Read and check everything the daemon needs. Raises ConfigError naming the key."""
    env = os.environ if env is None else env
    raw, client = read_config(config_path, env)
    own = section(raw, "alarmd")
    twilio = _twilio_settings(section(raw, "twilio"), env)
    database_text = env.get("ALARMD_DB") or string(own, "alarmd.database", "database")
    database = (parse_database("ALARMD_DB" if env.get("ALARMD_DB") else "alarmd.database", database_text,
                               credential(env, "database-password"))
                if database_text else client.state_dir / defaults.DB_FILENAME)
    timezone = string(own, "alarmd.timezone", "timezone") or system_timezone(env)
    _check_zone("alarmd.timezone", timezone)
    grace = _int(own, "alarmd.graceSeconds", "graceSeconds", defaults.DEFAULT_GRACE_SECONDS, 0)
    limits = section(own, "limits", "alarmd.limits")
    calls_per_hour = _int(limits, "alarmd.limits.callsPerHour", "callsPerHour", defaults.DEFAULT_CALLS_PER_HOUR,
                          1, 10_000)
    settings = Settings(
        client=client,
        database=database,
        timezone=timezone,
        grace_seconds=grace,
        twilio=twilio,
        keepalive=_keepalive_settings(section(own, "keepalive", "alarmd.keepalive"), twilio),
        redial=_redial_settings(section(own, "redial", "alarmd.redial")),
        calls_per_hour=calls_per_hour,
        dials_per_hour=_dials_per_hour(limits, calls_per_hour),
        heartbeat=heartbeat_settings(section(own, "heartbeat", "alarmd.heartbeat")),
        network=network_settings(own, client.tls_cert),
    )
    return settings


def _twilio_settings(block: Mapping[str, Any], env: Env) -> TwilioSettings:
    entries = []
    numbers = block.get("phoneNumbers", [])
    if not isinstance(numbers, list):
        raise ConfigError("twilio.phoneNumbers: expected a list of {name, number} objects.")
    seen: dict[str, int] = {}
    for i, item in enumerate(numbers):
        entry = _number_entry(f"twilio.phoneNumbers[{i}]", item)
        # A person is their entry's name, matched in any case: two such names would leave
        # an alarm set for one of them calling whichever comes first.
        if entry.name is not None and (first := seen.setdefault(entry.name.casefold(), i)) != i:
            raise ConfigError(f"twilio.phoneNumbers[{i}].name: {entry.name!r} is the name of "
                              f"twilio.phoneNumbers[{first}] too (names are matched in any case); "
                              "give each entry a name of its own.")
        entries.append(entry)
    number_from = string(block, "twilio.numberFrom", "numberFrom")
    if number_from:
        number_from = _phone("twilio.numberFrom", number_from)
    base_url = env.get("ALARMD_TWILIO_API_URL") or string(block, "twilio.apiBaseURL", "apiBaseURL")
    if base_url and not re.match(r"^https?://[^/\s]+", base_url):
        raise ConfigError(f"twilio.apiBaseURL: {base_url!r} is not an http(s) URL.")
    return TwilioSettings(
        enabled=_bool(block, "twilio.enabled", "enabled", False),
        account_sid=env.get("TWILIO_ACCOUNT_SID") or string(block, "twilio.accountSID", "accountSID"),
        auth_token=credential(env, "twilio-auth-token")
        or env.get("TWILIO_AUTH_TOKEN")
        or string(block, "twilio.authToken", "authToken"),
        number_from=number_from,
        calling_uri=string(block, "twilio.callingURI", "callingURI") or defaults.DEFAULT_CALLING_URI,
        api_base_url=base_url.rstrip("/") if base_url else None,
        phone_numbers=tuple(entries),
    )


def _number_entry(key: str, item: Any) -> NumberEntry:
    if not isinstance(item, dict):
        raise ConfigError(f"{key}: expected an object with a number.")
    raw_number = item.get("number")
    if not isinstance(raw_number, str) or not raw_number.strip():
        raise ConfigError(f"{key}.number: missing; each entry needs a number.")
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"{key}.name: expected a non-empty string.")
    if isinstance(name, str) and name.strip().isdigit():
        raise ConfigError(f"{key}.name: {name!r} would be read as an index; use a word.")
    return NumberEntry(
        name=name.strip() if isinstance(name, str) else None,
        number=_phone(f"{key}.number", raw_number),
        hidden=_bool(item, f"{key}.hidden", "hidden", False),
        secret=_bool(item, f"{key}.secret", "secret", False),
    )


def _keepalive_settings(block: Mapping[str, Any], twilio: TwilioSettings) -> KeepaliveSettings:
    number = block.get("number", 0)
    if isinstance(number, bool) or not isinstance(number, int | str):
        raise ConfigError("alarmd.keepalive.number: expected an index or a name.")
    at = string(block, "alarmd.keepalive.at", "at") or defaults.DEFAULT_KEEPALIVE_AT
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", at):
        raise ConfigError(f"alarmd.keepalive.at: {at!r} is not a time of day like \"12:00\".")
    settings = KeepaliveSettings(
        enabled=_bool(block, "alarmd.keepalive.enabled", "enabled", True),
        every_days=_int(block, "alarmd.keepalive.everyDays", "everyDays",
                        defaults.DEFAULT_KEEPALIVE_EVERY_DAYS, 1, 29),
        number=number,
        at=at,
        ring_seconds=_int(block, "alarmd.keepalive.ringSeconds", "ringSeconds",
                          defaults.DEFAULT_KEEPALIVE_RING_SECONDS, 5, 600),
    )
    # Checked here so a typo stops the start, not the call 29 days later. With no numbers
    # at all (a fresh dry-run install) the default index 0 has nothing to point at yet.
    if settings.enabled and (twilio.phone_numbers or "number" in block):
        _check_number_ref("alarmd.keepalive.number", number, twilio.phone_numbers)
    return settings


def _redial_settings(block: Mapping[str, Any]) -> RedialSettings:
    key = "alarmd.redial."
    return RedialSettings(
        attempts=_int(block, key + "attempts", "attempts", defaults.DEFAULT_REDIAL_ATTEMPTS, 1, 10),
        interval_seconds=_int(block, key + "intervalSeconds", "intervalSeconds",
                              defaults.DEFAULT_REDIAL_INTERVAL_SECONDS, 1, 3600),
        first_retry_seconds=_seconds(block, key + "firstRetrySeconds", "firstRetrySeconds",
                                     defaults.FIRST_RETRY_SECONDS, 0.01, 10),
        max_retry_seconds=_seconds(block, key + "maxRetrySeconds", "maxRetrySeconds",
                                   defaults.MAX_RETRY_SECONDS, 0.01, 120),
        # Both stay well inside the 30 s lease a delivery renews between requests and polls.
        poll_seconds=_seconds(block, key + "pollSeconds", "pollSeconds", defaults.POLL_SECONDS, 0.01, 10),
        poll_margin_seconds=_seconds(block, key + "pollMarginSeconds", "pollMarginSeconds",
                                     defaults.POLL_MARGIN_SECONDS, 0, 600),
        request_timeout_seconds=_seconds(block, key + "requestTimeoutSeconds", "requestTimeoutSeconds",
                                         defaults.TWILIO_TIMEOUT_SECONDS, 0.1, 20),
        require_human=_bool(block, key + "requireHuman", "requireHuman", False),
        unknown_is_answer=_bool(block, key + "unknownIsAnswer", "unknownIsAnswer", True),
    )


def _dials_per_hour(limits: Mapping[str, Any], calls_per_hour: int) -> int:
    key = "alarmd.limits.dialsPerHour"
    dials = _int(limits, key, "dialsPerHour", calls_per_hour // 2, 0)
    if dials >= calls_per_hour:
        # Manual dials must never be able to use up the hour before a wake-up.
        raise ConfigError(f"{key}: {dials} leaves no room for wake-ups; it must be less than "
                          f"alarmd.limits.callsPerHour ({calls_per_hour}).")
    return dials


def _check_number_ref(key: str, ref: int | str, entries: tuple[NumberEntry, ...]) -> None:
    if isinstance(ref, int) or ref.strip().isdigit():
        index = int(ref)
        if not 0 <= index < len(entries):
            have = f"has {len(entries)}" if entries else "is empty"
            raise ConfigError(f"{key}: {index} is not an index of twilio.phoneNumbers (it {have}).")
        return
    if not any(e.name and e.name.casefold() == ref.strip().casefold() for e in entries):
        raise ConfigError(f"{key}: no entry of twilio.phoneNumbers is named {ref!r}.")


def system_timezone(env: Env) -> str:
    """The machine's IANA zone: $TZ, else the /etc/localtime link, else UTC."""
    tz = env.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        return tz
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else "UTC"


def _check_zone(key: str, name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}: {name!r} is not an IANA time zone (e.g. \"Europe/London\").") from None


def _phone(key: str, raw: str) -> str:
    from alarmd.phonebook import normalise

    try:
        return normalise(raw)
    except ValueError:
        raise ConfigError(f"{key}: {json.dumps(raw)} is not a valid phone number.") from None
