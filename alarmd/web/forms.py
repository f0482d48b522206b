"""The alarm form: what was posted, as the service's AlarmInput (new) or changes (edit).

The form only translates: every rule about what an alarm may be is the service's, and
its sentence is shown beside the field the error names (field_of). The few checks here
are about the form itself: a time to go with the days, whole numbers in number fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alarmd.alarms.inputs import AlarmInput
from alarmd.digits import is_digits
from alarmd.errors import BadInput, Conflict

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TEXT_FIELDS = ("time", "date", "to", "name", "say", "ring_seconds", "then", "tz", "cron",
               "grace_seconds", "redial_attempts", "redial_interval_seconds")
# The select's value for "the number this alarm has now", when the form may not offer it.
KEEP = "="
NUMBER_FIELDS = {"ring_seconds": "Ring time", "grace_seconds": "Grace", "redial_attempts": "Calls per number",
                 "redial_interval_seconds": "Seconds between calls"}


class FieldError(ValueError):
    """What the form itself refuses, named by the form's own field."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.field = name
        self.message = message


@dataclass
class AlarmForm:
    values: dict[str, str] = field(default_factory=dict)
    days: set[str] = field(default_factory=lambda: set(DAYS))
    # Answering machine detection, as the checkbox shows it: the alarm's own choice, or
    # alarmd.redial.requireHuman for one that made none (None).
    require_human: bool = False

    @classmethod
    def blank(cls, tz: str, require_human: bool) -> AlarmForm:
        values = dict.fromkeys(TEXT_FIELDS, "")
        values["tz"] = tz
        return cls(values, require_human=require_human)

    @classmethod
    def posted(cls, form: Any) -> AlarmForm:
        values = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS}
        days = {d for d in DAYS if form.get(f"day_{d}")}
        return cls(values, days, bool(form.get("require_human")))

    @classmethod
    def of_alarm(cls, alarm: dict[str, Any], to_value: str, then_value: str, require_human: bool) -> AlarmForm:
        """The form filled in with an alarm as it is, in its own zone; a number the form may
        not offer (secret, hidden) is KEEP."""
        values = dict.fromkeys(TEXT_FIELDS, "")
        values.update(to=to_value, name=alarm.get("name") or "", say=alarm.get("say") or "", tz=alarm["tz"],
                      then=then_value, cron=alarm.get("cron") or "")
        for name in NUMBER_FIELDS:
            values[name] = "" if alarm.get(name) is None else str(alarm[name])
        days = set(DAYS)
        if alarm["kind"] == "daily":
            values["time"] = alarm["daily"]
            days = set((alarm.get("days") or ",".join(DAYS)).split(","))
        elif alarm["kind"] == "once":
            at = datetime.fromisoformat(alarm["at"]).astimezone(ZoneInfo(alarm["tz"]))
            values.update(time=f"{at:%H:%M}", date=at.date().isoformat())
        chosen = alarm.get("require_human")
        return cls(values, days, require_human if chosen is None else bool(chosen))

    def number(self, name: str) -> int | None:
        text = self.values.get(name, "")
        if not text:
            return None
        if not is_digits(text):
            raise FieldError(name, f"{NUMBER_FIELDS[name]} must be a whole number.")
        return int(text)

    def schedule(self) -> dict[str, str | None]:
        """Exactly one of at, daily (with days) or cron, as the service takes them."""
        v = self.values
        if v["cron"]:
            return {"cron": v["cron"], "at": None, "daily": None, "days": None}
        if not v["time"]:
            raise FieldError("time", "Give a time (or, under More options, a cron expression).")
        if v["date"]:
            return {"at": f"{v['date']}T{v['time']}", "daily": None, "days": None, "cron": None}
        if not self.days:
            raise FieldError("days", "Choose at least one day, or give a date for a one-off alarm.")
        days = None if self.days == set(DAYS) else ",".join(d for d in DAYS if d in self.days)
        return {"daily": v["time"], "days": days, "at": None, "cron": None}

    def new_alarm(self, default_human: bool) -> AlarmInput:
        v = self.values
        if v["to"] in ("", KEEP):
            raise FieldError("to", "Choose whom to call.")
        fields: dict[str, Any] = {k: val for k, val in self.schedule().items() if val is not None}
        fields.update({name: self.number(name) for name in NUMBER_FIELDS})
        # Left as the config says: the alarm follows alarmd.redial.requireHuman if it changes.
        fields["require_human"] = None if self.require_human == default_human else self.require_human
        return AlarmInput(to=v["to"], tz=v["tz"] or None, name=v["name"] or None, say=v["say"] or None,
                          then=v["then"] if v["then"] not in ("", KEEP) else None, **fields)

    def changes(self, current: AlarmForm) -> dict[str, Any]:
        """What differs from the alarm as it is; an untouched field is not sent, so it keeps
        its value (a private number stays the number, pending skips stay)."""
        v, was = self.values, current.values
        changes: dict[str, Any] = {}
        if v["to"] not in ("", KEEP) and v["to"] != was["to"]:
            changes["to"] = v["to"]
        if v["then"] != KEEP and v["then"] != was["then"]:
            changes["then"] = v["then"] or None
        for name in ("name", "say"):
            if v[name] != was[name]:
                changes[name] = v[name] or None
        for name in NUMBER_FIELDS:
            if self.number(name) != current.number(name):
                changes[name] = self.number(name)
        mine = self.schedule()
        if mine != current.schedule():
            changes.update({k: val for k, val in mine.items() if val is not None})
            if "daily" in changes and mine["days"] is None:
                changes["days"] = ",".join(DAYS)
        if v["tz"] and v["tz"] != was["tz"]:
            changes["tz"] = v["tz"]
        if self.require_human != current.require_human:
            changes["require_human"] = self.require_human
        return changes


def ref_value(number: dict[str, Any] | None) -> str:
    """How a form's select names a number the service showed: its name, else its index."""
    if not number:
        return ""
    if number.get("index") is None:
        return str(number.get("ref"))
    return str(number.get("name") or number["index"])


# The form's field for an API field where the two differ: the form's time alone makes
# `daily`, and with a date `at`, whose errors (past, too far ahead) are the date's.
FORM_FIELDS = {"at": "date", "daily": "time"}
SHOWN_BESIDE = frozenset(TEXT_FIELDS) | {"days"}


def field_of(error: Exception) -> str:
    """The form field an error is shown beside: the one it names, else "form" (the whole alarm)."""
    if isinstance(error, FieldError):
        return error.field
    named = error.field if isinstance(error, BadInput | Conflict) else None  # by the API's names
    name = FORM_FIELDS.get(named, named) if named else None
    return name if name in SHOWN_BESIDE else "form"
