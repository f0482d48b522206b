"""Finding and reading the config file, and the part of it every `alarmd` command needs.

The CLI reads only this much: where the daemon listens, its API token, the state
directory. alarmd.config.settings builds the daemon's full Settings on top of it. The
two are apart because every command that asks the daemon pays for what it imports, and
it needs neither pydantic nor phone-number parsing.

The environment variables and credentials that stand in for a key are named here, once:
loading (here and in alarmd.config.settings) and `config show` (alarmd.config.origins)
all read the same two tables.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from alarmd import defaults
from alarmd.errors import ConfigError

Env = Mapping[str, str]

# What may stand in for a key of the file, strongest first: a systemd credential
# (LoadCredential=, by name), then an environment variable, then the file.
CREDENTIALS = {"twilio.authToken": "twilio-auth-token", "alarmd.apiToken": "api-token"}
ENVIRONMENT = {
    "twilio.accountSID": "TWILIO_ACCOUNT_SID",
    "twilio.authToken": "TWILIO_AUTH_TOKEN",
    "twilio.apiBaseURL": "ALARMD_TWILIO_API_URL",
    "alarmd.database": "ALARMD_DB",
    "alarmd.listen": "ALARMD_LISTEN",
    "alarmd.apiToken": "ALARMD_API_TOKEN",
}


class Override(NamedTuple):
    value: str
    origin: str  # "credential" or "environment"
    source: str  # the credential's name or the variable


def override(key: str, env: Env) -> Override | None:
    """The value a credential or an environment variable gives `key`; None: the file decides."""
    name = CREDENTIALS.get(key)
    if name and (value := credential(env, name)):
        return Override(value, "credential", name)
    variable = ENVIRONMENT.get(key)
    if variable and (value := env.get(variable)):
        return Override(value, "environment", variable)
    return None


class ClientSettings(NamedTuple):
    """What the CLI needs to reach the daemon; built from the file without pydantic."""

    config_path: Path | None
    listen_host: str
    listen_port: int
    state_dir: Path
    api_token: str | None = None
    tls_cert: Path | None = None  # alarmd.tls.cert: the daemon speaks HTTPS

    @property
    def token_file(self) -> Path:
        return self.state_dir / defaults.TOKEN_FILENAME

    @property
    def connect_host(self) -> str:
        """The host a client on this machine connects to: a daemon on every address is reached on loopback."""
        return "127.0.0.1" if self.listen_host in ("0.0.0.0", "::", "") else self.listen_host

    @property
    def base_url(self) -> str:
        """The daemon's API as the CLI and the daemon's own readiness probe reach it."""
        host = self.connect_host
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.listen_port}"

    def __repr__(self) -> str:
        # Never the token: settings end up in logs and error reports.
        return (f"ClientSettings(config_path={self.config_path!r}, listen_host={self.listen_host!r}, "
                f"listen_port={self.listen_port!r}, state_dir={self.state_dir!r})")


def find_config(explicit: str | os.PathLike[str] | None, env: Env) -> tuple[Path | None, bool]:
    """The config path to read and whether it was asked for by name (so must exist)."""
    if explicit:
        return Path(explicit), True
    if env.get("ALARMD_CONFIG"):
        return Path(env["ALARMD_CONFIG"]), True
    if env.get("CONFIGURATION_DIRECTORY"):
        # systemd may list several directories separated by ':'; ours is the first.
        return Path(env["CONFIGURATION_DIRECTORY"].split(":")[0]) / "config.json", False
    xdg = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(xdg) / "alarmd" / "config.json", False


def read_config_file(path: Path | None, required: bool) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(
                f"{path}: no such config file; `alarmd --config {path} config init` writes one.") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object.")
    return data


def load_client_settings(
    config_path: str | os.PathLike[str] | None = None, env: Env | None = None
) -> ClientSettings:
    return read_config(config_path, os.environ if env is None else env)[1]


def read_config(config_path: str | os.PathLike[str] | None, env: Env) -> tuple[dict[str, Any], ClientSettings]:
    """The config file's contents (none: {}) and the client settings they and `env` give."""
    path, required = find_config(config_path, env)
    raw = read_config_file(path, required)
    return raw, client_settings(path if raw or required else None, raw, env)


def client_settings(path: Path | None, raw: Mapping[str, Any], env: Env) -> ClientSettings:
    own = section(raw, "alarmd")
    listen = override("alarmd.listen", env)
    host, port = defaults.DEFAULT_LISTEN_HOST, defaults.DEFAULT_LISTEN_PORT
    if listen:
        host, port = parse_listen(listen.source, listen.value)
    elif listen_text := string(own, "alarmd.listen", "listen"):
        host, port = parse_listen("alarmd.listen", listen_text)
    token_override = override("alarmd.apiToken", env)
    token = token_override.value if token_override else string(own, "alarmd.apiToken", "apiToken")
    cert = string(section(own, "tls", "alarmd.tls"), "alarmd.tls.cert", "cert")
    return ClientSettings(
        config_path=path,
        listen_host=host,
        listen_port=port,
        state_dir=state_directory(env),
        api_token=token or None,
        tls_cert=Path(cert).expanduser() if cert else None,
    )


def parse_listen(key: str, value: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d{1,5})", value.strip())
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ConfigError(f"{key}: {value!r} is not HOST:PORT (e.g. \"127.0.0.1:8421\").")
    return match.group(1), int(match.group(2))


def state_directory(env: Env) -> Path:
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    home = Path(env.get("HOME", "~")).expanduser()
    xdg = env.get("XDG_STATE_HOME") or str(home / ".local" / "state")
    return Path(xdg) / "alarmd"


def credential(env: Env, name: str) -> str | None:
    """A systemd credential (LoadCredential=) by name, or None when there is none."""
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    try:
        return (Path(directory) / name).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"credential {name}: cannot be read ({exc.strerror}).") from None


def section(block: Mapping[str, Any], name: str, key: str | None = None) -> Mapping[str, Any]:
    """The object at block[name], {} when absent; `key` is its full name for the error."""
    value = block.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key or name}: expected a JSON object.")
    return value


def string(block: Mapping[str, Any], key: str, name: str) -> str | None:
    """The string at block[name], stripped; None when absent or empty."""
    value = block.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {json.dumps(value)}.")
    return value.strip() or None
