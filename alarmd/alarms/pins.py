"""Whom alarms call, kept true each time the daemon reads its config (issue 12 item 3).

Alarms, their fallbacks, open occurrences and the keepalive are pinned to a person (an
entry's name and its number then, alarmd.phonebook.Pin) when set. `NumberCheck.run`,
run at start and again whenever the settings are reloaded, brings the pins in line with
the config just read:

- rows from before pins existed (revision 0002) are pinned from the config as it is
  now, and the log says so once;
- a name with a new number keeps its alarms (a new phone is a config edit); a name gone
  whose number is now another entry's is followed to it (a rename), said once in the log;
- an alarm whose person is configured neither by name nor by number is flagged: a
  warning in the log now, and `warnings` (status, /healthz) and `broken` (its view)
  until it is edited. Nothing else is ever called in its place.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from alarmd.calls.lease import OPEN_STATUSES
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.errors import UnknownNumber
from alarmd.phonebook import Phonebook, PhoneNumber, Pin, stored_label
from alarmd.store.insert import put_state
from alarmd.store.models import Alarm, Occurrence, StateEntry

log = logging.getLogger("alarmd.service")

# `state` key: whom the keepalive calls, {"ref", "name", "number"} (ref: alarmd.keepalive.number).
KEEPALIVE_PIN = "keepalive_number"
# What the warnings read of an alarm: its id and name, whom it calls, whom it falls back to.
PIN_COLUMNS = (Alarm.id, Alarm.name, Alarm.to_ref, Alarm.to_name, Alarm.to_number, Alarm.then_ref,
               Alarm.then_name, Alarm.then_number)


@dataclass(frozen=True)
class Moved:
    """A pin brought in line with the config: `old` is None when it was pinned just now."""

    old: Pin | None
    entry: PhoneNumber

    @property
    def renamed(self) -> bool:
        return (self.old is not None and self.old.name is not None
                and (self.entry.name or "").casefold() != self.old.name.casefold())

    @property
    def renumbered(self) -> bool:
        return self.old is not None and not self.renamed and self.entry.number != self.old.number


def who(entry: PhoneNumber) -> str:
    """How a log line or a warning names an entry: its name, else its (masked) number."""
    return entry.name or entry.display


def alarm_label(alarm: Alarm) -> str:
    return f"alarm {alarm.name} (#{alarm.id})" if alarm.name else f"alarm #{alarm.id}"


def moving(ref: str | None, name: str | None, number: str | None, phonebook: Phonebook) -> Moved | None:
    """Where a stored target's pin moves to in `phonebook`; None when it stands (or nothing fits)."""
    if ref is None:
        return None
    if number is None:  # stored before pins: as given, read in the config as it is now
        try:
            return Moved(None, phonebook.resolve(ref))
        except UnknownNumber:
            return None
    found = phonebook.follow(Pin(name, number))
    if found is None or (found.name == name and found.number == number):
        return None
    return Moved(Pin(name, number), found)


def repin(row: Any, role: str, phonebook: Phonebook) -> Moved | None:
    """Pin `row`'s `<role>_ref/_name/_number` to the entry it means now; what moved, or None."""
    ref, name, number = (getattr(row, f"{role}_{part}") for part in ("ref", "name", "number"))
    moved = moving(ref, name, number, phonebook)
    if moved is None:
        return None
    if moved.renamed and name is not None and ref.casefold() == name.casefold() and moved.entry.name:
        setattr(row, f"{role}_ref", moved.entry.name)
    setattr(row, f"{role}_name", moved.entry.name)
    setattr(row, f"{role}_number", moved.entry.number)
    return moved


def warnings(session: Session, phonebook: Phonebook) -> list[str]:
    """One sentence per alarm still to ring whose number or fallback is not configured.

    /healthz asks at every probe: plain rows of the few columns needed, not ORM objects.
    """
    found = []
    for row in session.execute(select(*PIN_COLUMNS).where(Alarm.next_fire_at.is_not(None)).order_by(Alarm.id)):
        found.extend(_row_warnings(row, phonebook))
    return found


def _row_warnings(row: Any, phonebook: Phonebook) -> list[str]:
    """The warnings of one row of PIN_COLUMNS."""
    alarm_id, alarm_name, *targets = row
    who = f"alarm {alarm_name} (#{alarm_id})" if alarm_name else f"alarm #{alarm_id}"
    found = []
    for role, (ref, name, number) in zip(("to", "then"), (targets[:3], targets[3:6]), strict=True):
        if ref is None:
            continue
        try:
            phonebook.target(ref, name, number)
        except UnknownNumber:
            label = stored_label(ref, name, number)
            found.append(f"{who} calls {label}, which is not configured: it will call nobody until "
                         f"`alarmd edit {alarm_id} --to NAME`." if role == "to" else
                         f"{who} falls back to {label}, which is not configured: it will not be rung.")
    return found


class NumberCheck(UsesLive):
    """Its settings and numbers are the configuration in force: run after every (re)load."""

    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig):
        self.sessions = sessions
        self.live = live

    def run(self) -> list[str]:
        """Pin, follow and flag, as the module says; log it; the warnings, as status lists them."""
        pinned: list[str] = []
        subjects: dict[tuple[str, str], list[str]] = {}
        with self.sessions.begin() as session:
            alarms, standing = self._moving(session)
            for alarm in alarms:
                to, then = repin(alarm, "to", self.phonebook), repin(alarm, "then", self.phonebook)
                if to is not None and to.old is None:
                    pinned.append(f"#{alarm.id} calls {who(to.entry)}"
                                  + (f", falling back to {who(then.entry)}" if then and then.old is None else ""))
                for moved in (to, then):
                    if moved is not None and moved.old is not None and (moved.renamed or moved.renumbered):
                        subjects.setdefault(self._change(moved), []).append(alarm_label(alarm))
            open_or_unpinned = or_(Occurrence.to_number.is_(None),
                                   Occurrence.status.in_(OPEN_STATUSES) & Occurrence.finished_at.is_(None))
            for occurrence in session.scalars(select(Occurrence).where(open_or_unpinned)):
                repin(occurrence, "to", self.phonebook)  # the alarm's line says it
            keepalive = self._keepalive(session)
            if keepalive is not None and keepalive.old is not None and (keepalive.renamed or keepalive.renumbered):
                subjects.setdefault(self._change(keepalive), []).append("the keepalive")
            found = warnings(session, self.phonebook) if alarms else standing
        if pinned:
            noun = "alarm" if len(pinned) == 1 else "alarms"
            log.info("pinned %s %s stored before alarmd recorded whom alarms call, from twilio.phoneNumbers "
                     "as it is now: %s.", len(pinned), noun, "; ".join(pinned))
        for (change, whom), names in subjects.items():
            verb = "calls" if len(names) == 1 else "call"
            log.info("%s; %s %s %s now.", change, _and(names), verb, whom)
        for sentence in found:
            log.warning("%s", sentence)
        return found

    def _moving(self, session: Session) -> tuple[list[Alarm], list[str]]:
        """The alarms a repin would change, in id order, and the warnings as the rows stand.

        Ten thousand stored alarms are read once, as plain rows (an ORM object each took a
        third of a second at every start, and a reload); only those whose pin moves are
        loaded to be written.
        """
        phonebook = self.phonebook
        ids, standing = [], []
        for row in session.execute(select(*PIN_COLUMNS, Alarm.next_fire_at.is_not(None)).order_by(Alarm.id)):
            if moving(*row[2:5], phonebook) is not None or moving(*row[5:8], phonebook) is not None:
                ids.append(row[0])
            elif row[8]:  # still to ring
                standing.extend(_row_warnings(row, phonebook))
        # In slices: an old SQLite takes at most 999 parameters in one statement.
        return [alarm for start in range(0, len(ids), 500)
                for alarm in session.scalars(select(Alarm).where(Alarm.id.in_(ids[start:start + 500]))
                                             .order_by(Alarm.id))], standing

    @staticmethod
    def _change(moved: Moved) -> tuple[str, str]:
        """What happened in the config, and whom the pin's holders call now."""
        assert moved.old is not None
        entry = moved.entry
        whom = entry.name or f"twilio.phoneNumbers[{entry.index}]"
        if moved.renamed:
            return f"twilio.phoneNumbers: {moved.old.label()} is gone, but its number is now {whom}'s", whom
        return f"twilio.phoneNumbers: {whom} has a new number, {entry.display}", f"{whom} there"

    def _keepalive(self, session: Session) -> Moved | None:
        """Keep the keepalive's pin: whom alarmd.keepalive.number meant when it was set."""
        conf = self.settings.keepalive
        if not conf.enabled or not self.phonebook.entries:
            return None
        ref = str(conf.number)
        stored = read_keepalive_pin(session)
        try:
            current = self.phonebook.resolve(ref)
        except UnknownNumber:
            return None
        if stored is None or stored[0] != ref:
            # First pinned, or the config names another number: that is the choice now.
            write_keepalive_pin(session, ref, current)
            return None
        pin = stored[1]
        entry = self.phonebook.follow(pin)
        if entry is None:
            # Not a person's wake-up but the config's choice: it calls what the config
            # means now rather than nobody, and says so.
            log.warning("the keepalive called %s, which is not configured any more; it calls %s "
                        "(alarmd.keepalive.number %s) from now on.", pin.label(), who(current), ref)
            write_keepalive_pin(session, ref, current)
            return None
        if (entry.name, entry.number) != (pin.name, pin.number):
            write_keepalive_pin(session, ref, entry)
            return Moved(pin, entry)
        return None


def read_keepalive_pin(session: Session) -> tuple[str, Pin] | None:
    row = session.get(StateEntry, KEEPALIVE_PIN)
    if row is None:
        return None
    value = json.loads(row.value)
    return str(value["ref"]), Pin(value.get("name"), str(value["number"]))


def write_keepalive_pin(session: Session, ref: str, entry: PhoneNumber) -> None:
    put_state(session, KEEPALIVE_PIN, json.dumps({"ref": ref, "name": entry.name, "number": entry.number}))


def keepalive_target(session: Session, ref: str, phonebook: Phonebook) -> PhoneNumber:
    """Whom the keepalive calls now: its pin while alarmd.keepalive.number is unchanged."""
    stored = read_keepalive_pin(session)
    if stored is not None and stored[0] == ref and (entry := phonebook.follow(stored[1])) is not None:
        return entry
    return phonebook.resolve(ref)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
