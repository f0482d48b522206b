"""The change log other nodes read: one row per change to an alarm, in commit order of ids.

Every transaction that adds, changes or removes an alarm writes a row here, in the same
transaction (`track_changes` hooks every session's flush; the row's id is a sequence).
Each node reads the rows past the last id it saw and schedules those alarms again. On
PostgreSQL the writer also sends NOTIFY, which wakes the other nodes at once; the read
itself is the safety net, since notifications are lost across reconnects.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.store.models import Alarm, AlarmChange

CHANNEL = "alarmd_changes"
# Rows older than this are pruned; a node that was away longer re-reads every alarm.
KEEP = timedelta(days=2)


def track_changes(sessions: sessionmaker[Session]) -> None:
    """Log a change row for every alarm a flush of these sessions inserts, updates or deletes."""

    @event.listens_for(sessions, "after_flush")
    def _log(session: Session, _context: Any) -> None:
        changed = {obj.id for obj in (*session.new, *session.deleted) if isinstance(obj, Alarm)}
        changed |= {obj.id for obj in session.dirty if isinstance(obj, Alarm) and session.is_modified(obj)}
        if not changed:
            return
        now = clock.now()
        session.execute(insert(AlarmChange), [{"alarm_id": i, "changed_at": now} for i in sorted(changed)])
        if session.get_bind().dialect.name == "postgresql":
            # Delivered at commit, and only then: a listener never reads a row not yet visible.
            session.execute(text(f"NOTIFY {CHANNEL}"))


def latest_change(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AlarmChange.id), 0))) or 0)


def changes_since(session: Session, last: int) -> tuple[int, set[int]]:
    """The newest change id, and the alarms changed after `last`."""
    rows = session.execute(select(AlarmChange.id, AlarmChange.alarm_id).where(AlarmChange.id > last)
                           .order_by(AlarmChange.id)).all()
    if not rows:
        return last, set()
    return rows[-1][0], {alarm_id for _, alarm_id in rows}


def prune(session: Session, now: datetime) -> None:
    session.execute(delete(AlarmChange).where(AlarmChange.changed_at < now - KEEP))
