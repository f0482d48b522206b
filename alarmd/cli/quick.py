"""The two verbs run most, answered without click.

`alarmd list` and `alarmd status` are what people type every evening. Importing click
and building every verb's options is about a third of what `alarmd list` costs, so
when the command line is exactly `list` or `status`, with `--json` or nothing after
it, the verb runs here: the same client, the same formatting (alarmd.cli.formatting), the
same one-line errors and exit statuses (alarmd.cli.errors). The click-free verbs of
alarmd.cli.verbs, which the click commands call too, call these same functions; every
other command line goes to alarmd.cli.fast, and what it does not take to click.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alarmd.cli import formatting as fmt
from alarmd.cli import screens, shapes
from alarmd.cli.errors import report
from alarmd.errors import DaemonUnavailable

if TYPE_CHECKING:
    from alarmd.cli.client import ApiClient

Echo = Callable[[str], None]
Verb = Callable[["ApiClient", fmt.Painter, bool, Echo], None]


def show_list(api: ApiClient, paint: fmt.Painter, as_json: bool, echo: Echo) -> None:
    from alarmd import clock

    alarms = fmt.sort_by_next(shapes.alarms(api.request("GET", "/v1/alarms"), f"{api.base} (GET /v1/alarms)"))
    echo(json_text(alarms) if as_json else "\n".join(screens.alarm_list(alarms, clock.now(), paint)))


def show_status(api: ApiClient, paint: fmt.Painter, as_json: bool, echo: Echo) -> None:
    try:
        info = api.request("GET", "/v1/status")
    except DaemonUnavailable as exc:
        # Down is an answer, not only an error: say it on stdout too, then fail.
        echo(json_text({"daemon": "down", "error": str(exc)}) if as_json
             else f"{paint('Daemon:', bold=True)}     {paint('down', fg='red', bold=True)}")
        raise
    info = {"daemon": "up", **shapes.status(info, f"{api.base} (GET /v1/status)")}
    echo(json_text(info) if as_json else "\n".join(screens.status_lines(info, paint)))


VERBS: dict[str, Verb] = {"list": show_list, "status": show_status}


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def stdout_painter() -> fmt.Painter:
    # NO_COLOR is read here, not in config: it is about this terminal, not alarmd.
    return fmt.Painter(fmt.use_colour(sys.stdout.isatty(), os.environ.get("NO_COLOR")))


def quick_verb(args: list[str]) -> Verb | None:
    """The verb to answer here, or None when the command line is for click (alarmd.cli.entry)."""
    if args and args[0] in VERBS and args[1:] in ([], ["--json"]):
        return VERBS[args[0]]
    return None


def run(verb: Verb, as_json: bool) -> int:
    from alarmd.cli.client import ApiClient
    from alarmd.config.file import load_client_settings

    try:
        verb(ApiClient(load_client_settings()), stdout_painter(), as_json, _echo)
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc)
    return 0


def _echo(text: str) -> None:
    # Flushed here, so a closed pipe (`alarmd list | head -1`) is reported like any error.
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
