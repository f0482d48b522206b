"""Finding an alarm by what a person types: its id, its exact name, or its name in any case."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alarmd.errors import BadInput, NoSuchAlarm
from alarmd.store.models import Alarm


def find_alarm(session: Session, ref: int | str) -> Alarm:
    text = str(ref).strip()
    alarm = None
    if text.isascii() and text.isdigit():  # "²" passes isdigit() alone, and int() refuses it
        alarm = session.get(Alarm, int(text))
    else:
        alarm = session.scalars(select(Alarm).where(Alarm.name == text)).first()
        if alarm is None:
            alarm = _find_ignoring_case(session, text)
    if alarm is None:
        raise NoSuchAlarm(f"no alarm has the id or name {text!r}.")
    return alarm


def _find_ignoring_case(session: Session, text: str) -> Alarm | None:
    """People type "Work" for "work"; when that fits several alarms, say so, never guess."""
    found = session.scalars(select(Alarm).where(func.lower(Alarm.name) == text.lower())
                            .order_by(Alarm.id)).all()
    if len(found) > 1:
        names = ", ".join(f"{a.name!r} (#{a.id})" for a in found)
        raise BadInput(f"the name {text!r} is ambiguous: it fits {names}; use the id or the exact name.")
    return found[0] if found else None
