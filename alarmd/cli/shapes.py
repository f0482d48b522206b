"""What each answer of the daemon must hold before a verb prints it.

The CLI prints what comes back from the daemon's address. Something else answering
there (another program on the port, another version, another route's answer) must never
be printed as an alarm ("Alarm: #None") or die of a KeyError: each verb checks that the
answer has the fields it prints, and fails with one sentence (exit 1) otherwise.
"""

from __future__ import annotations

from typing import Any

from alarmd.errors import AlarmdError

Fields = dict[str, type | tuple[type, ...]]

ALARM: Fields = {"id": int, "schedule": str, "state": str, "tz": str, "to": dict}
CALL: Fields = {"id": int, "reason": str, "status": str, "to": dict, "attempts": list}
FIRE_TIME: Fields = {"at": str}
STATUS: Fields = {"version": str, "mode": str}


class WrongAnswer(AlarmdError):
    """The daemon's address answered, but not as alarmd answers."""


def one(answer: Any, fields: Fields, what: str, where: str) -> dict[str, Any]:
    """`answer` itself, when it is an object holding `fields` of the right types."""
    if not isinstance(answer, dict) or any(
            isinstance(answer.get(key), bool) or not isinstance(answer.get(key), kind)
            for key, kind in fields.items()):
        raise WrongAnswer(f"{where} answered with something that is not alarmd's answer ({what} was expected); "
                          "is another program listening there?")
    return answer


def many(answer: Any, key: str, fields: Fields, what: str, where: str) -> list[dict[str, Any]]:
    """`answer[key]`, when it is a list of objects holding `fields`."""
    items = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise WrongAnswer(f"{where} answered with something that is not alarmd's answer ({what} was expected); "
                          "is another program listening there?")
    return [one(item, fields, what, where) for item in items]


def alarm(answer: Any, where: str) -> dict[str, Any]:
    return one(answer, ALARM, "an alarm", where)


def alarms(answer: Any, where: str) -> list[dict[str, Any]]:
    return many(answer, "alarms", ALARM, "a list of alarms", where)


def call(answer: Any, where: str) -> dict[str, Any]:
    return one(answer, CALL, "a call", where)


def calls(answer: Any, where: str) -> list[dict[str, Any]]:
    return many(answer, "calls", CALL, "a list of calls", where)


def fire_times(answer: Any, where: str) -> list[dict[str, Any]]:
    return many(answer, "fire_times", FIRE_TIME, "a list of ring times", where)


def status(answer: Any, where: str) -> dict[str, Any]:
    return one(answer, STATUS, "the daemon's status", where)
