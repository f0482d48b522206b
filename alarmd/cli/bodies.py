"""The options of add, edit, skip and unskip as the API's request bodies, checked first.

Click-free, like the verbs (alarmd.cli.verbs) that use them. A wrong combination is
BadInput: one line on stderr and exit 2, the same as click's own usage errors print
(alarmd.cli.support, alarmd.cli.errors).
"""

from __future__ import annotations

from typing import Any

from alarmd.errors import BadInput

SCHEDULE_OPTIONS = ("at", "daily", "cron")


class _Default:
    def __repr__(self) -> str:
        return "default"


# What `--ring default` and the like parse to: put the setting back to its default
# (JSON null in a PATCH). An object of its own, so no real value can be mistaken for it.
DEFAULT: Any = _Default()


def check_schedule(options: dict[str, Any], *, required: bool) -> None:
    chosen = [f"--{k}" for k in SCHEDULE_OPTIONS if options.get(k) is not None]
    if len(chosen) > 1:
        raise BadInput(f"{' and '.join(chosen)} conflict: give only one of --at, --daily or --cron.")
    if required and not chosen:
        raise BadInput("give one of --at, --daily or --cron.")
    if options.get("days") is not None and options.get("at") is not None:
        raise BadInput("--days conflicts with --at: days go with --daily.")
    if options.get("days") is not None and options.get("cron") is not None:
        raise BadInput("--days conflicts with --cron: put the days in the cron expression.")
    if required and options.get("days") is not None and options.get("daily") is None:
        raise BadInput("--days goes with --daily.")


def days_body(days: dict[str, str | None]) -> dict[str, str] | None:
    """The API's body for --on / --from / --to, after checking they go together."""
    if days.get("on") is not None and (days.get("first") is not None or days.get("last") is not None):
        raise BadInput("--on conflicts with --from and --to: give one date, or a range.")
    if (days.get("first") is None) != (days.get("last") is None):
        raise BadInput("--from and --to go together: give both dates of the range.")
    names = {"on": "on", "first": "from", "last": "to"}
    body = {names[k]: v for k, v in days.items() if v is not None}
    return body or None


def changes_of(options: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body of an edit: the options given, with what is cleared as null."""
    body = {k: (None if v is DEFAULT else v) for k, v in options.items()
            if v is not None and k not in ("no_then", "no_say")}
    for flag, key in (("no_then", "then"), ("no_say", "say")):
        if options.get(flag):
            if options.get(key) is not None:
                raise BadInput(f"--{key} and --no-{key} conflict: give one of them.")
            body[key] = None
    return body


def additions_of(options: dict[str, Any]) -> dict[str, Any]:
    """The POST body of an add: what is given; `default` is what not giving it means."""
    return {k: v for k, v in options.items() if v is not None and v is not DEFAULT}
