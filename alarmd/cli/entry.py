"""The `alarmd` script's entry point (and `python -m alarmd`).

The two verbs people type most, `list` and `status`, with `--json` or nothing after them,
are answered by alarmd.cli.quick; every other verb that asks the running daemon, when
its command line is one alarmd.cli.fast can parse, by alarmd.cli.fast, which also starts
the daemon for a plain `alarmd run`. Neither imports click. Everything else (--help,
--version, a usage error, shell completion, the other offline verbs) goes to the click
commands of alarmd.cli.commands. All of them import this
module's neighbours, never this module, so the command's modules import one way.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # click's shell completion calls the script with its own variable set.
    completing = bool(os.environ.get("_ALARMD_COMPLETE"))
    # A line ending in `run` is never a quick verb's; the daemon then does not hold their modules all day.
    if not completing and args[-1:] != ["run"]:
        from alarmd.cli import quick

        verb = quick.quick_verb(args)
        if verb is not None:
            sys.exit(quick.run(verb, as_json=len(args) == 2))
    if not completing:
        from alarmd.cli import fast

        parsed = fast.parse(args, os.environ) or fast.parse_run(args, os.environ)
        if parsed is not None and fast.stdout_as_click_takes_it():
            sys.exit(fast.run(parsed))
    from alarmd.cli.commands import cli

    cli.main(args=args, prog_name="alarmd")
