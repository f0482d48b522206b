"""The API token: configured, or made on first start and kept in the state directory.

The file is created 0600 so only the daemon's user (and root) can read it; the CLI of
the same user finds it there.
"""

from __future__ import annotations

import os

from alarmd.config import ClientSettings
from alarmd.errors import ConfigError


def read_token(client: ClientSettings) -> str | None:
    """The configured token, else the one the daemon stored, else None."""
    if client.api_token:
        return client.api_token
    try:
        return client.token_file.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except PermissionError:
        return None


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
