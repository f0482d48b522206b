"""Read the JSON config (+ environment, + systemd credentials) once into frozen Settings.

The `twilio` block is NMO's, read unchanged; alarmd's own settings live under `alarmd`.
Each block is a frozen pydantic dataclass whose fields carry NMO's camelCase names as
aliases, and each rule (a whole number in range, a phone number, a time of day) is one
annotated type used wherever the rule applies. A value pydantic refuses becomes one
ConfigError sentence that starts with the key's name; pydantic's own wording never
reaches a person. Apart from alarmd.config.file (the part every command reads) and the
proxy settings the Twilio adapter resolves once at start, nothing else in alarmd reads
the environment.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    TypeAdapter,
    ValidationError,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails

from alarmd import defaults
from alarmd.config.database import Database, parse_database
from alarmd.config.file import (
    CREDENTIALS,
    ENVIRONMENT,
    ClientSettings,
    Env,
    credential,
    override,
    read_config,
    section,
)
from alarmd.config.network import NetworkSettings, network_settings
from alarmd.digits import is_digits
from alarmd.errors import ConfigError

# Python code builds these by field name (tests, a reload's copy); the file is read by alias
# alone (load_settings passes by_name=False), so only NMO's spelling counts there.
_BLOCK = ConfigDict(validate_by_name=True, validate_by_alias=True)


# --- The rules, each once. A validator raises ValueError with the sentence after the key.

def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def within(low: float, high: float | None = None) -> Callable[[Any], Any]:
    """A number from `low` to `high` (or at least `low`)."""
    def check(value: Any) -> Any:
        # Written so that NaN (JSON's NaN, which Python's json reads) is out of every range.
        if not (low <= value and (high is None or value <= high)):
            bounds = (f"from {_number_text(low)} to {_number_text(high)}" if high is not None
                      else f"at least {_number_text(low)}")
            raise ValueError(f"{_number_text(value)} is out of range ({bounds}).")
        return value
    return check


def _stripped(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _or_default(default: str) -> Callable[[Any], Any]:
    """An absent, null or blank string means the default (NMO writes "" for "not set")."""
    def fill(value: Any) -> Any:
        return default if value is None or (isinstance(value, str) and not value.strip()) else value
    return fill


def _is_http_url(text: str) -> bool:
    return re.match(r"^https?://[^/\s]+", text) is not None


def _api_url(value: str | None) -> str | None:
    if value is not None and not _is_http_url(value):
        raise ValueError(f"{value!r} is not an http(s) URL.")
    return value.rstrip("/") if value else None


def _check_url(value: str | None) -> str | None:
    if value is not None and not _is_http_url(value):
        # Not echoed: a check's URL is all it takes to ping it.
        raise ValueError("expected an http(s) URL.")
    return value.rstrip("/") if value else None


def _e164(raw: str | None) -> str | None:
    from alarmd.phonebook import normalise

    if raw is None:
        return None
    try:
        return normalise(raw)
    except ValueError:
        raise ValueError(f"{json.dumps(raw)} is not a valid phone number.") from None


def _entry_number(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing; each entry needs a number.")
    return _e164(value) or ""


def _entry_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string.")
    if is_digits(value.strip()):
        raise ValueError(f"{value!r} would be read as an index; use a word.")
    return value.strip()


def _entries(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        raise ValueError("expected a list of {name, number} objects.")
    return value


def _entry(value: Any) -> Any:
    if not isinstance(value, dict | NumberEntry):
        raise ValueError("expected an object with a number.")
    return value


def _index_or_name(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("expected an index or a name.")
    return value


def _not_null(value: Any) -> Any:
    """Only an absent key means the default; a null is refused like any other non-number."""
    if value is None:
        raise ValueError(_EXPECTED["int_type"].format(got="null"))
    return value


def _time_of_day(value: str) -> str:
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError(f"{value.strip()!r} is not a time of day like \"12:00\".")
    return value.strip()


def _zone(name: str | None) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. \"Europe/London\").") from None
    return name


Flag = Annotated[bool, Strict()]
Whole = Annotated[int, Strict()]
Seconds = Annotated[float, Strict()]
Text = Annotated[str | None, AfterValidator(_stripped)]  # stripped; absent, null or blank: None
Phone = Annotated[Text, AfterValidator(_e164)]  # E.164

# What pydantic's own checks of a JSON value's type become.
_EXPECTED = {
    "bool_type": "expected true or false, got {got}.",
    "int_type": "expected a whole number, got {got}.",
    "float_type": "expected a number of seconds, got {got}.",
    "string_type": "expected a string, got {got}.",
    "dataclass_type": "expected a JSON object.",
    "dict_type": "expected a JSON object.",
}


# --- The blocks of the file.

@dataclass(frozen=True, config=_BLOCK)
class NumberEntry:
    name: Annotated[str | None, PlainValidator(_entry_name)] = None
    # Required: a missing number is refused with the same sentence as a blank one.
    number: Annotated[str, PlainValidator(_entry_number), Field(validate_default=True)] = ""  # E.164
    hidden: Flag = False
    secret: Flag = False


@dataclass(frozen=True, config=_BLOCK)
class TwilioSettings:
    enabled: Flag = False
    account_sid: Annotated[Text, Field(alias="accountSID")] = None
    auth_token: Annotated[Text, Field(alias="authToken")] = field(default=None, repr=False)
    number_from: Annotated[Phone, Field(alias="numberFrom")] = None
    calling_uri: Annotated[str, BeforeValidator(_or_default(defaults.DEFAULT_CALLING_URI)),
                           AfterValidator(str.strip), Field(alias="callingURI")] = defaults.DEFAULT_CALLING_URI
    api_base_url: Annotated[Text, AfterValidator(_api_url), Field(alias="apiBaseURL")] = None
    phone_numbers: Annotated[tuple[Annotated[NumberEntry, BeforeValidator(_entry)], ...],
                             BeforeValidator(_entries), Field(alias="phoneNumbers")] = ()

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


@dataclass(frozen=True, config=_BLOCK)
class KeepaliveSettings:
    enabled: Flag = True
    every_days: Annotated[Whole, AfterValidator(within(1, 29)), Field(alias="everyDays")] = (
        defaults.DEFAULT_KEEPALIVE_EVERY_DAYS)
    number: Annotated[int | str, PlainValidator(_index_or_name)] = 0
    at: Annotated[str, BeforeValidator(_or_default(defaults.DEFAULT_KEEPALIVE_AT)),
                  AfterValidator(_time_of_day)] = defaults.DEFAULT_KEEPALIVE_AT
    ring_seconds: Annotated[Whole, AfterValidator(within(5, 600)), Field(alias="ringSeconds")] = (
        defaults.DEFAULT_KEEPALIVE_RING_SECONDS)


@dataclass(frozen=True, config=_BLOCK)
class RedialSettings:
    """alarmd.redial: how hard one occurrence tries to wake someone (see alarmd.calls.delivery)."""

    # Calls per number, the first included.
    attempts: Annotated[Whole, AfterValidator(within(1, 10))] = defaults.DEFAULT_REDIAL_ATTEMPTS
    interval_seconds: Annotated[Whole, AfterValidator(within(1, 3600)), Field(alias="intervalSeconds")] = (
        defaults.DEFAULT_REDIAL_INTERVAL_SECONDS)
    # The knobs below exist so tests and impatient setups can shorten the waits. The polls
    # stay well inside the 30 s lease a delivery renews between requests and polls.
    first_retry_seconds: Annotated[Seconds, AfterValidator(within(0.01, 10)),
                                   Field(alias="firstRetrySeconds")] = defaults.FIRST_RETRY_SECONDS
    max_retry_seconds: Annotated[Seconds, AfterValidator(within(0.01, 120)),
                                 Field(alias="maxRetrySeconds")] = defaults.MAX_RETRY_SECONDS
    poll_seconds: Annotated[Seconds, AfterValidator(within(0.01, 10)), Field(alias="pollSeconds")] = (
        defaults.POLL_SECONDS)
    poll_margin_seconds: Annotated[Seconds, AfterValidator(within(0, 600)), Field(alias="pollMarginSeconds")] = (
        defaults.POLL_MARGIN_SECONDS)
    request_timeout_seconds: Annotated[Seconds, AfterValidator(within(0.1, 20)),
                                       Field(alias="requestTimeoutSeconds")] = defaults.TWILIO_TIMEOUT_SECONDS
    # Answering machine detection: the default for alarms that do not say, and whether
    # "unknown" (detection could not tell, e.g. a silent pick-up) counts as an answer.
    require_human: Annotated[Flag, Field(alias="requireHuman")] = False
    unknown_is_answer: Annotated[Flag, Field(alias="unknownIsAnswer")] = True


@dataclass(frozen=True, config=_BLOCK)
class HeartbeatSettings:
    """alarmd.heartbeat: a healthchecks.io-style check URL (alarmd.daemon.heartbeat pings it); None: no pings."""

    url: Annotated[Text, AfterValidator(_check_url)] = None
    every_seconds: Annotated[Whole, AfterValidator(within(1, 86_400)), Field(alias="everySeconds")] = (
        defaults.DEFAULT_HEARTBEAT_EVERY_SECONDS)


@dataclass(frozen=True, config=_BLOCK)
class _Limits:
    calls_per_hour: Annotated[Whole, AfterValidator(within(1, 10_000)), Field(alias="callsPerHour")] = (
        defaults.DEFAULT_CALLS_PER_HOUR)
    # None (the key absent): half of callsPerHour.
    dials_per_hour: Annotated[Annotated[Whole, AfterValidator(within(0))] | None, BeforeValidator(_not_null),
                              Field(alias="dialsPerHour")] = None


@dataclass(frozen=True, config=_BLOCK)
class _Own:
    """The `alarmd` block, as far as pydantic checks it: `listen`, `apiToken` and `tls.cert`
    are the client settings' (alarmd.config.file), `tls` and `trustProxy` alarmd.config.network's."""

    database: Text = None
    timezone: Annotated[Text, AfterValidator(_zone)] = None
    grace_seconds: Annotated[Whole, AfterValidator(within(0)), Field(alias="graceSeconds")] = (
        defaults.DEFAULT_GRACE_SECONDS)
    limits: _Limits = _Limits()
    keepalive: KeepaliveSettings = KeepaliveSettings()
    redial: RedialSettings = RedialSettings()
    heartbeat: HeartbeatSettings = HeartbeatSettings()


@dataclass(frozen=True, config=_BLOCK)
class _File:
    twilio: TwilioSettings = TwilioSettings()
    alarmd: _Own = _Own()


_FILE = TypeAdapter(_File)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the daemon runs with. Assembled rather than parsed: the client settings,
    the database and the TLS files are read and checked on their own before this is built.
    Each field names the config key it comes from, for alarmd.config.changes."""

    client: ClientSettings = field(metadata={"key": "alarmd.listen"})
    database: Database = field(metadata={"key": "alarmd.database"})  # a Path (SQLite) or a PostgresDatabase
    timezone: str = field(metadata={"key": "alarmd.timezone"})
    grace_seconds: int = field(metadata={"key": "alarmd.graceSeconds"})
    twilio: TwilioSettings = field(metadata={"key": "twilio"})
    keepalive: KeepaliveSettings = field(metadata={"key": "alarmd.keepalive"})
    redial: RedialSettings = field(default_factory=RedialSettings, metadata={"key": "alarmd.redial"})
    calls_per_hour: int = field(default=defaults.DEFAULT_CALLS_PER_HOUR,
                                metadata={"key": "alarmd.limits.callsPerHour"})
    # Manual dials' own cap inside calls_per_hour, so wake-ups always keep room.
    dials_per_hour: int = field(default=defaults.DEFAULT_CALLS_PER_HOUR // 2,
                                metadata={"key": "alarmd.limits.dialsPerHour"})
    heartbeat: HeartbeatSettings = field(default_factory=HeartbeatSettings, metadata={"key": "alarmd.heartbeat"})
    # alarmd.tls and alarmd.trustProxy; their fields name their own keys.
    network: NetworkSettings = field(default_factory=NetworkSettings, metadata={"key": "alarmd"})

    @property
    def api_token(self) -> str | None:
        return self.client.api_token


def load_settings(
    config_path: str | os.PathLike[str] | None = None, env: Env | None = None
) -> Settings:
    """Read and check everything the daemon needs. Raises ConfigError naming the key."""
    env = os.environ if env is None else env
    raw, client = read_config(config_path, env)
    try:
        checked = _FILE.validate_python(_with_overrides(raw, env), by_name=False)
    except ValidationError as exc:
        raise ConfigError(_sentence(exc.errors()[0])) from None
    own, twilio = checked.alarmd, checked.twilio
    _check_names(twilio.phone_numbers)
    # Checked here so a typo stops the start, not the call 29 days later. With no numbers
    # at all (a fresh dry-run install) the default index 0 has nothing to point at yet.
    keepalive_given = "number" in section(section(raw, "alarmd"), "keepalive")
    if own.keepalive.enabled and (twilio.phone_numbers or keepalive_given):
        _check_number_ref("alarmd.keepalive.number", own.keepalive.number, twilio.phone_numbers)
    database: Database = client.state_dir / defaults.DB_FILENAME
    if own.database:
        given = override("alarmd.database", env)
        database = parse_database(given.source if given else "alarmd.database", own.database,
                                  credential(env, "database-password"))
    timezone = own.timezone or system_timezone(env)
    try:
        _zone(timezone)
    except ValueError as exc:
        raise ConfigError(f"alarmd.timezone: {exc}") from None
    calls_per_hour = own.limits.calls_per_hour
    dials_per_hour = own.limits.dials_per_hour
    if dials_per_hour is None:
        dials_per_hour = calls_per_hour // 2
    elif dials_per_hour >= calls_per_hour:
        # Manual dials must never be able to use up the hour before a wake-up.
        raise ConfigError(f"alarmd.limits.dialsPerHour: {dials_per_hour} leaves no room for wake-ups; it must "
                          f"be less than alarmd.limits.callsPerHour ({calls_per_hour}).")
    return Settings(
        client=client,
        database=database,
        timezone=timezone,
        grace_seconds=own.grace_seconds,
        twilio=twilio,
        keepalive=own.keepalive,
        redial=own.redial,
        calls_per_hour=calls_per_hour,
        dials_per_hour=dials_per_hour,
        heartbeat=own.heartbeat,
        network=network_settings(section(raw, "alarmd"), client.tls_cert),
    )


def _with_overrides(raw: Mapping[str, Any], env: Env) -> dict[str, Any]:
    """The file's contents with what credentials and the environment set put in place."""
    merged = {name: dict(block) if isinstance(block, dict) else block for name, block in raw.items()}
    for key in {*CREDENTIALS, *ENVIRONMENT}:
        found = override(key, env)
        block, name = key.split(".")
        if found and isinstance(merged.setdefault(block, {}), dict):
            merged[block][name] = found.value
    return merged


def _sentence(error: ErrorDetails) -> str:
    """One of pydantic's errors as alarmd's sentence: the key as the file spells it, then why."""
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    if error["type"] == "value_error":
        reason = str(error.get("ctx", {}).get("error", "is not valid."))
    else:
        template = _EXPECTED.get(error["type"], "{got} is not a valid value.")
        reason = template.format(got=json.dumps(error["input"], default=str))
    return f"{key}: {reason}"


def _check_names(entries: tuple[NumberEntry, ...]) -> None:
    # A person is their entry's name, matched in any case: two such names would leave
    # an alarm set for one of them calling whichever comes first.
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if entry.name is not None and (first := seen.setdefault(entry.name.casefold(), i)) != i:
            raise ConfigError(f"twilio.phoneNumbers[{i}].name: {entry.name!r} is the name of "
                              f"twilio.phoneNumbers[{first}] too (names are matched in any case); "
                              "give each entry a name of its own.")


def _check_number_ref(key: str, ref: int | str, entries: tuple[NumberEntry, ...]) -> None:
    if isinstance(ref, int) or is_digits(ref.strip()):
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
