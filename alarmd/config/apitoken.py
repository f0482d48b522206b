"""The API token: configured, or made on first start and kept in the state directory.

The file is created 0600 so only the daemon's user (and root) can read it; the CLI of
the same user finds it there. A file named api-token beside the config file is read
first: that is how root's CLI, given --config /etc/alarmd/config.json, finds the token
that alarmd.service loads as a credential from /etc/alarmd/api-token.
"""

from __future__ import annotations

import os
from pathlib import Path

from alarmd import defaults
from alarmd.config.file import ClientSettings
from alarmd.errors import ConfigError


def read_token(client: ClientSettings) -> str | None:
    """The configured token, else one kept beside the config, else the daemon's, else None."""
    if client.api_token:
        return client.api_token
    for path in token_files(client):
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, PermissionError, NotADirectoryError):
            continue
        if token:
            return token
    return None


def token_files(client: ClientSettings) -> list[Path]:
    """Where a token may be kept, in the order they are read."""
    beside_config = [client.config_path.parent / defaults.TOKEN_FILENAME] if client.config_path else []
    return [*beside_config, client.token_file]


def ensure_token(client: ClientSettings) -> str:
    token = read_token(client)
    if token:
        return token
    import secrets  # only the daemon makes tokens; the CLI skips this import

    path = client.token_file
    token = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another daemon wrote it between our read and our create: use theirs.
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"api token: cannot write {path} ({exc.strerror}).") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token
