"""Every verb that asks the running daemon, answered without importing click.

Importing click and building every verb's options cost more than the verb's own work,
so a command line made only of what each verb's click command declares (the table
below: options, their values, the arguments) is parsed here, once, and runs the same body
(alarmd.cli.verbs) with the same values click would pass. Anything else goes to click
(alarmd.cli.commands): --help, --version, a usage error of any kind (a missing or extra
argument, an unknown or repeated option, a value click would refuse), `--`, shell
completion, the offline verbs. Click then says what it always said; nothing has been
sent to the daemon yet. tests/test_cli_fast.py checks the table against the click commands.
"""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Mapping
from typing import Any

# An option's kind: how its text becomes the value the verb is given.
TEXT, FLAG, NOT_EMPTY, DURATION, ATTEMPTS, YES, NO = "text", "flag", "not-empty", "duration", "attempts", "yes", "no"
Kind = str | tuple[int, int]  # or (lo, hi): a whole number in that range, as click.IntRange
Options = dict[str, tuple[str, Kind]]  # "--to": ("to", TEXT)

SCHEDULE: Options = {"--at": ("at", TEXT), "--daily": ("daily", TEXT), "--days": ("days", TEXT),
                     "--cron": ("cron", TEXT), "--tz": ("tz", TEXT), "--name": ("name", TEXT),
                     "--grace": ("grace_seconds", (0, 86_400))}
DELIVERY: Options = {"--attempts": ("redial_attempts", ATTEMPTS), "--interval": ("redial_interval_seconds", DURATION),
                     "--then": ("then", NOT_EMPTY), "--ring": ("ring_seconds", DURATION), "--say": ("say", NOT_EMPTY),
                     "--require-human": ("require_human", YES), "--no-require-human": ("require_human", NO)}
CLEAR: Options = {"--no-say": ("no_say", FLAG), "--no-then": ("no_then", FLAG)}
JSON: Options = {"--json": ("as_json", FLAG)}
DAYS: Options = {"--on": ("on", TEXT), "--from": ("first", TEXT), "--to": ("last", TEXT)}


class Verb:
    """One click command as this parser knows it: the body, its arguments and its options."""

    def __init__(self, body: str, arguments: tuple[str, ...] = (), options: Options | None = None, *,
                 optional_argument: bool = False, required: tuple[str, ...] = (),
                 defaults: Mapping[str, Any] | None = None):
        self.body, self.arguments, self.options = body, arguments, options or {}
        self.optional_argument, self.required = optional_argument, required
        self.defaults = dict(defaults or {})


TO: Options = {"--to": ("to", TEXT)}
VERBS: dict[tuple[str, ...], Verb] = {
    ("add",): Verb("add", (), {**TO, **SCHEDULE, **DELIVERY}, required=("to",)),
    ("edit",): Verb("edit", ("alarm",), {**TO, **SCHEDULE, **DELIVERY, **CLEAR}),
    ("list",): Verb("list_", (), JSON),
    ("show",): Verb("show", ("alarm",), JSON),
    ("remove",): Verb("remove", ("alarm",)),
    ("pause",): Verb("pause", ("alarm",), {"--until": ("until", TEXT)}),
    ("resume",): Verb("resume", ("alarm",)),
    ("skip",): Verb("skip", ("alarm",), DAYS),
    ("unskip",): Verb("unskip", ("alarm",), DAYS),
    ("dial",): Verb("dial", ("number",)),
    ("history",): Verb("history", (), {"--limit": ("limit", (1, 1000)), "--alarm": ("alarm", TEXT), **JSON},
                       defaults={"limit": 20}),
    ("status",): Verb("status", (), JSON),
    ("next",): Verb("next_", ("alarm",), {"--count": ("count", (1, 100)), "--explain": ("explain", FLAG), **JSON},
                    optional_argument=True, defaults={"count": 5}),
    ("web",): Verb("web", (), {"--sign-out-all": ("sign_out_all", FLAG), "--no-browser": ("no_browser", FLAG)}),
    ("config", "reload"): Verb("config_reload"),
}


class Parsed:
    def __init__(self, verb: Verb, params: dict[str, Any], config_path: str | None):
        self.verb, self.params, self.config_path = verb, params, config_path


# `alarmd run`: not a verb that asks the daemon, so not in the table, but the daemon's
# own command line is taken here too (parse_run): the click commands and their help
# cost the daemon about 1.3 MB for as long as it runs.
RUN = Verb("run")


class Refused(Exception):
    """Not for this parser: click has the last word on this command line."""


def parse(args: list[str], env: Mapping[str, str]) -> Parsed | None:
    """The verb and the values click would call it with, or None when click must decide."""
    try:
        config_path, rest = _global_options(args, env)
        words = next(((w, len(w)) for w in VERBS if tuple(rest[:len(w)]) == w), None)
        if words is None:
            return None
        verb = VERBS[words[0]]
        return Parsed(verb, _verb_options(verb, rest[words[1]:]), config_path)
    except Refused:
        return None


def parse_run(args: list[str], env: Mapping[str, str]) -> Parsed | None:
    """`alarmd run` with at most --config before it; None when click must decide."""
    try:
        config_path, rest = _global_options(args, env)
    except Refused:
        return None
    return Parsed(RUN, {}, config_path) if rest == ["run"] else None


def run_daemon(config_path: str | None) -> int:
    """The body of `alarmd run` (alarmd.cli.offline.run, or parse_run's line): the exit status."""
    from alarmd.config.settings import load_settings
    from alarmd.daemon.main import run as run_daemon

    return run_daemon(load_settings(config_path), config_path)


def _global_options(args: list[str], env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    config_path, rest = None, list(args)
    if rest and rest[0].startswith("--config="):
        config_path, rest = rest[0].partition("=")[2], rest[1:]
    elif rest and rest[0] == "--config" and len(rest) > 1:
        config_path, rest = rest[1], rest[2:]
    if config_path is None and "ALARMD_CONFIG" in env:
        config_path = env["ALARMD_CONFIG"]  # click's envvar= for --config
    if config_path is not None and (not config_path or config_path.startswith("-") or os.path.isdir(config_path)):
        raise Refused  # click.Path(dir_okay=False) refuses a directory; odd values are click's
    return config_path, rest


def _verb_options(verb: Verb, rest: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {dest: None for dest, _ in verb.options.values()}
    params.update({dest: False for dest, kind in verb.options.values() if kind == FLAG})
    params.update(verb.defaults)
    positional, seen = [], set()
    tokens = iter(rest)
    for token in tokens:
        if not token.startswith("-"):
            positional.append(token)
            continue
        name, has_value, value = token.partition("=")
        if name not in verb.options:
            raise Refused
        dest, kind = verb.options[name]
        if dest in seen:
            raise Refused  # click takes the last; rare enough to leave to it
        seen.add(dest)
        if kind in (FLAG, YES, NO):
            if has_value:
                raise Refused
            params[dest] = kind != NO
            continue
        if not has_value:
            value = next(tokens, "-")
            if value.startswith("-"):
                raise Refused  # a missing value, or one that looks like an option
        params[dest] = _convert(kind, value)
    if len(positional) > len(verb.arguments) or (
            len(positional) < len(verb.arguments) and not verb.optional_argument):
        raise Refused
    params.update(zip(verb.arguments, positional, strict=False))
    for name in verb.arguments[len(positional):]:
        params[name] = None
    if any(params[dest] is None for dest in verb.required):
        raise Refused
    return params


def _convert(kind: Kind, value: str) -> Any:
    """What click's type or callback makes of `value` (alarmd.cli.support); Refused if it would refuse it."""
    if isinstance(kind, tuple):
        return _whole(value, *kind)
    if kind == NOT_EMPTY and not value.strip():
        raise Refused
    if kind in (DURATION, ATTEMPTS) and value.strip().lower() == "default":
        from alarmd.cli.bodies import DEFAULT

        return DEFAULT
    if kind == ATTEMPTS:
        return _whole(value, 1, 10)
    if kind == DURATION:
        from alarmd.schedule.timeparse import parse_duration

        try:
            return parse_duration(value)
        except ValueError:
            raise Refused from None
    return value


def _whole(value: str, lo: int, hi: int) -> int:
    # Plain ASCII digits only: what int() makes of anything else is click's to say.
    if not (value.isascii() and value.isdigit()) or not lo <= int(value) <= hi:
        raise Refused
    return int(value)


def stdout_as_click_takes_it() -> bool:
    """Whether click.echo would write to sys.stdout as it is (not re-wrapped as UTF-8 with
    replacement, which it does to a stream whose encoding is ASCII or unset)."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None)
    if stream is None or not encoding or getattr(stream, "errors", None) is None:
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True


def run(parsed: Parsed) -> int:
    """Run the verb's body; the exit status, after saying what went wrong (alarmd.cli.errors)."""
    from alarmd.cli.errors import report

    try:
        if parsed.verb is RUN:  # the daemon needs none of the verbs' modules
            return run_daemon(parsed.config_path)
        from alarmd.cli import verbs
        from alarmd.cli.session import Session

        getattr(verbs, parsed.verb.body)(Session(parsed.config_path), **parsed.params)
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc)
    return 0
