"""`alarmd config init`: the starter config, written where the daemon will look for it.

For a person: one file, mode 0600 (it may hold the auth token later). For the service
(`--system`): the layout README's "Run it as a service" describes, config.json 0644 with
no secret in it, and the two credential files 0600 beside it. The twilio block is NMO's,
unchanged in form, disabled (dry-run) until the account's values are filled in.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alarmd import defaults
from alarmd.digits import is_digits
from alarmd.errors import BadInput, CannotWrite

SYSTEM_DIR = Path("/etc/alarmd")
CREDENTIAL_FILES = ("twilio-auth-token", defaults.TOKEN_FILENAME)
DEFAULT_NAME = "MOBILE"


@dataclass(frozen=True)
class Written:
    path: Path
    mode: int
    kept: bool = False  # already there, left as it was (credential files are never overwritten)


def check_number(raw: str) -> str:
    """The number as given (NMO's form), once phonenumbers agrees it can be one."""
    from alarmd.phonebook import normalise

    try:
        normalise(raw)
    except ValueError:
        raise BadInput(f"--number: {raw.strip()!r} is not a phone number; write it with its country code, "
                       "e.g. \"+44 7700 900123\".") from None
    return raw.strip()


def check_name(name: str) -> str:
    name = name.strip()
    if not name or is_digits(name):
        raise BadInput(f"--name: {name!r} is not a name; use a word such as {DEFAULT_NAME}.")
    return name


def check_zone(zone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"--timezone: {zone.strip()!r} is not an IANA time zone (e.g. \"Europe/London\").") from None
    return zone.strip()


def starter_config(number: str, name: str, zone: str, *, system: bool) -> dict[str, Any]:
    # The service's file is readable by its user, so its token lives in a credential file.
    token: dict[str, Any] = {} if system else {"authToken": ""}
    twilio: dict[str, Any] = {
        "enabled": False,
        "accountSID": "",
        **token,
        "numberFrom": "",
        "callingURI": defaults.DEFAULT_CALLING_URI,
        "phoneNumbers": [{"name": name, "number": number}],
    }
    return {"twilio": twilio, "alarmd": {"timezone": zone}}


def refuse_overwrite(path: Path) -> None:
    if path.exists():
        raise BadInput(f"{path} already exists; give --force to overwrite it.")


def write_user(path: Path, config: dict[str, Any], force: bool) -> list[Written]:
    if not force:
        refuse_overwrite(path)
    _write(path, _json(config), 0o600, dir_mode=0o700)
    return [Written(path, 0o600)]


def write_system(directory: Path, config: dict[str, Any], force: bool) -> list[Written]:
    """config.json (0644) and the credential files (0600; an empty twilio-auth-token means dry-run)."""
    path = directory / "config.json"
    if not force:
        refuse_overwrite(path)
    written = [Written(path, 0o644)]
    _write(path, _json(config), 0o644, dir_mode=0o755)
    for name in CREDENTIAL_FILES:
        target = directory / name
        if target.exists():
            # NMO and the service already use it: a new API token would lock them out.
            written.append(Written(target, target.stat().st_mode & 0o777, kept=True))
            continue
        text = secrets.token_urlsafe(32) + "\n" if name == defaults.TOKEN_FILENAME else ""
        _write(target, text, 0o600, dir_mode=0o755)
        written.append(Written(target, 0o600))
    return written


def _json(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


def _write(path: Path, text: str, mode: int, dir_mode: int) -> None:
    """Write through a file beside it, renamed into place: a daemon reloading meanwhile
    reads the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode)
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w",
                       encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)  # whatever the umask
            handle.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise CannotWrite(f"{path}: cannot be written ({exc.strerror}).") from None
