"""What several verbs share: options, their checks, and shell completion (click's own).

At module level it imports only click and the standard library; completion asks the
daemon through alarmd.cli.client, imported when a shell asks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import click
from click.shell_completion import CompletionItem

from alarmd.errors import BadInput


class _Default:
    def __repr__(self) -> str:
        return "default"


# What `--ring default` and the like parse to: put the setting back to its default
# (JSON null in a PATCH). An object of its own, so no real value can be mistaken for it.
DEFAULT: Any = _Default()


def alarm_path(ref: str) -> str:
    """The API path of the alarm an ALARM argument names (its id or its name)."""
    if "/" in ref:
        # The daemon refuses such names: "wake/next" can only mean another route.
        raise BadInput("no alarm name contains '/'; give the alarm's id or its name.")
    return "/v1/alarms/" + quote(ref.strip(), safe="")


# --- shell completion (click's own: eval "$(_ALARMD_COMPLETE=bash_source alarmd)") ------


def _completions(path: str, key: str, fields: tuple[str, ...]) -> Callable[..., list[CompletionItem]]:
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        from alarmd.cli.client import ApiClient
        from alarmd.config.file import load_client_settings

        try:
            client = ApiClient(load_client_settings(ctx.find_root().params.get("config_path")))
            items = client.request("GET", path, timeout=2)[key]
        except Exception:  # completion must never print an error into the user's prompt
            return []
        words = {str(item[f]) for item in items for f in fields if item.get(f) is not None}
        return [CompletionItem(w) for w in sorted(words) if w.startswith(incomplete)]

    return complete


complete_alarm = _completions("/v1/alarms", "alarms", ("name", "id"))
complete_number = _completions("/v1/numbers", "numbers", ("name", "index"))


def alarm_argument() -> Callable[[Any], Any]:
    return click.argument("alarm", metavar="ALARM", shell_complete=complete_alarm)


def json_option() -> Callable[[Any], Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (fields: see README).")


def schedule_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--at", help='One-off: "07:00", "tomorrow 06:45", "in 20m", "fri 07:10", ISO 8601.'),
        click.option("--daily", metavar="HH:MM", help="Every day (or --days) at this time."),
        click.option("--days", help='With --daily: "mon-fri", "sat,sun", "weekdays", "weekends".'),
        click.option("--cron", help='A 5-field cron expression, e.g. "30 6 * * 1-5".'),
        click.option("--tz", help="IANA time zone (default: the configured one, else the system's)."),
        click.option("--name", help="A unique name to refer to the alarm by."),
        click.option("--grace", "grace_seconds", type=click.IntRange(0, 86_400),
                     help="Seconds late it may still ring after a restart (default 600)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def day_options(what: str) -> Callable[[Any], Any]:
    """--on DATE, or --from DATE --to DATE: which rings `skip` and `unskip` are about."""
    def decorate(func: Any) -> Any:
        for option in reversed([
            click.option("--on", "on", metavar="DATE", help=f"{what} on this local date (YYYY-MM-DD)."),
            click.option("--from", "first", metavar="DATE", help=f"{what} from this date (with --to)."),
            click.option("--to", "last", metavar="DATE", help="The last date of the range, included."),
        ]):
            func = option(func)
        return func

    return decorate


def _duration_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    from alarmd.schedule.timeparse import parse_duration

    if value is None:
        return None
    if value.strip().lower() == "default":
        return DEFAULT
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (or \"default\")") from None


def _attempts_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None or value.strip().lower() == "default":
        return DEFAULT if value is not None else None
    number: int = click.IntRange(1, 10).convert(value, param, ctx)  # type: ignore[arg-type]  # click parses text
    return number


def _not_empty(flag: str, sentence: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    def check(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not value.strip():
            # Not "no number is named ''": what someone typing "" wants is to clear it.
            raise click.UsageError(f"{flag} needs {sentence}")
        return value

    return check


def delivery_options(func: Any) -> Any:
    """How hard an alarm tries to wake someone (alarmd.calls.delivery)."""
    options = [
        click.option("--attempts", "redial_attempts", callback=_attempts_option, metavar="N",
                     help="Calls in all while unanswered, 1-10 (default alarmd.redial.attempts, 3)."),
        click.option("--interval", "redial_interval_seconds", callback=_duration_option, metavar="DURATION",
                     help="Wait between unanswered calls, e.g. 3m (default alarmd.redial.intervalSeconds, 2m)."),
        click.option("--then", "then", metavar="NAME", shell_complete=complete_number,
                     callback=_not_empty("--then", "a number's index or name; --no-then removes the fallback."),
                     help="Fallback number to ring the same way when nobody answers."),
        click.option("--ring", "ring_seconds", callback=_duration_option, metavar="DURATION",
                     help="How long each call rings, e.g. 45s (default 60s)."),
        click.option("--say", callback=_not_empty("--say", "the words to speak; --no-say removes the message."),
                     help="Words spoken when answered, instead of twilio.callingURI."),
        click.option("--require-human/--no-require-human", "require_human", default=None,
                     help="Detect answering machines: voicemail is not an answer, so it redials "
                          "(default alarmd.redial.requireHuman)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def clear_options(func: Any) -> Any:
    """`edit`'s ways to take a setting back to its default; `--ring default` and the like too."""
    func = click.option("--no-say", "no_say", is_flag=True, help="Remove the message: callingURI plays.")(func)
    return click.option("--no-then", "no_then", is_flag=True, help="Remove the fallback number.")(func)
