"""`alarmd db copy --to URL`: the daemon's database into another one (offline; the daemon stopped)."""

from __future__ import annotations

import dataclasses

from alarmd.config.database import Database
from alarmd.config.settings import Settings
from alarmd.daemon.main import open_database
from alarmd.store import copy, db


def copy_to(settings: Settings, target: Database) -> dict[str, int]:
    source = db.make_engine(settings.database)
    try:
        db.upgrade(source)
        destination = open_database(dataclasses.replace(settings, database=target))
        try:
            return copy.copy_database(source, destination)
        finally:
            destination.dispose()
    finally:
        source.dispose()
