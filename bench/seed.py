"""A home with many alarms stored, for the start-up and memory benches.

The schema is made by the daemon's own `alarmd db upgrade` (with the Python of the tree
being measured); the alarms are then written with plain SQL in one transaction, as
`alarmd add --daily HH:MM` would store them, pinned to the config's numbers. Daily alarms
spread over the day (a hotel's rooms), in Europe/London, none due in the first ten minutes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import twilio_block  # noqa: E402
from tests.twilio_standin import TwilioStandin  # noqa: E402

TOKEN = "bench-api-token-0123456789abcdef"
ZONE = "Europe/London"
STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite (naive UTC)
NUMBERS = {"MOBILE": "+447700900123", "OFFICE": "+441122334455"}


def write_config(home: Path, port: int, standin: TwilioStandin | None) -> Path:
    """Dry-run when `standin` is None (a twilio block with enabled false), else Twilio mode."""
    home.mkdir(parents=True, exist_ok=True)
    config = {"alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "timezone": ZONE,
                         "database": str(home / "alarmd.db")},
              "twilio": twilio_block(standin)}
    path = home / "config.json"
    path.write_text(json.dumps(config))
    return path


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
    env.update(HOME=str(home), ALARMD_CONFIG=str(home / "config.json"))
    return env


def _next_daily(hour: int, minute: int, now: datetime) -> datetime:
    zone = ZoneInfo(ZONE)
    local = now.astimezone(zone)
    for days in range(3):
        candidate = datetime.combine(local.date() + timedelta(days=days), datetime.min.time(), zone)
        candidate = candidate.replace(hour=hour, minute=minute)
        if candidate > now:
            return candidate.astimezone(UTC)
    raise AssertionError("no daily instant in three days")


def seed(python: str, home: Path, count: int) -> Path:
    """`home/alarmd.db` at head with `count` daily alarms; the database's path."""
    write_config(home, 8421, None)  # the port is not used: nothing listens
    # Run in `home`: `-m` puts the working directory first on sys.path, and the tree is the venv's.
    subprocess.run([python, "-m", "alarmd", "db", "upgrade"], env=env_for(home), check=True, cwd=home,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None).strftime(STAMP)
    # Every minute of the day but 01:00-01:59 (the DST hours) and the next ten minutes (the
    # daemon is measured idle, not ringing), several rooms a minute.
    local = now.astimezone(ZoneInfo(ZONE))
    soon = {(local + timedelta(minutes=m)).hour * 60 + (local + timedelta(minutes=m)).minute for m in range(11)}
    minutes = [m for m in range(24 * 60) if m // 60 != 1 and m not in soon]
    rows = []
    for i in range(count):
        hour, minute = divmod(minutes[(i * 7) % len(minutes)], 60)
        name, number = ("MOBILE", NUMBERS["MOBILE"]) if i % 2 == 0 else ("OFFICE", NUMBERS["OFFICE"])
        due = _next_daily(hour, minute, now).replace(tzinfo=None).strftime(STAMP)
        rows.append((f"room {i:05d}", "daily", f"{hour:02d}:{minute:02d}", "0,1,2,3,4,5,6", ZONE, name, name,
                     number, 600, False, "[]", due, stamp, stamp))
    path = home / "alarmd.db"
    # Closed before anyone copies the file: the daemon left it in WAL mode, and only closing
    # the last connection moves the rows from the -wal file into the database file.
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO alarms (name, kind, time_of_day, days, tz, to_ref, to_name, to_number, grace_seconds, "
            "paused, skip_instants, next_fire_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return path


def fresh_home(seeded: Path, home: Path, port: int, standin: TwilioStandin | None) -> None:
    """A new home for one start: its own copy of the seeded database, its own state directory."""
    if home.exists():
        shutil.rmtree(home)
    write_config(home, port, standin)
    shutil.copyfile(seeded, home / "alarmd.db")
