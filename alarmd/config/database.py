"""Where the database is: an SQLite file (the embedded default) or a PostgreSQL URL.

`alarmd.database` / `ALARMD_DB` take a file path or `postgresql://user@host:port/dbname`.
The password never sits in the config: it comes from the `database-password` systemd
credential, or libpq finds it itself in `PGPASSWORD` or `~/.pgpass`. Neither this
object's text nor its repr ever shows a password, so it can be logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from alarmd.config.file import Env, credential
from alarmd.errors import ConfigError

SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class PostgresDatabase:
    url: str  # as configured, without a password
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.url

    @property
    def sqlalchemy_url(self) -> str:
        """The URL for SQLAlchemy's psycopg 3 driver; the password goes separately (connect_args)."""
        return "postgresql+psycopg://" + self.url.split("://", 1)[1]


Database = Path | PostgresDatabase


def parse_database(key: str, text: str, password: str | None) -> Database:
    if not text.startswith(SCHEMES):
        return Path(text).expanduser()
    parts = urlsplit(text)
    if parts.password is not None:
        raise ConfigError(f"{key}: put the password in the database-password credential, PGPASSWORD "
                          "or ~/.pgpass, not in the URL (it would end up in logs).")
    if not parts.hostname or not parts.path.strip("/"):
        raise ConfigError(f"{key}: {text!r} is not a URL like postgresql://alarmd@db.example:5432/alarmd.")
    return PostgresDatabase(urlunsplit(parts), password)


def database_named(key: str, text: str, env: Env | None = None) -> Database:
    """A database given on a command line, its password found as the daemon's is."""
    env = os.environ if env is None else env
    return parse_database(key, text, credential(env, "database-password"))
