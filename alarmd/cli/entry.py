"""The `alarmd` script's entry point (and `python -m alarmd`).

The two verbs people type most, `list` and `status`, with `--json` or nothing after them,
are answered by alarmd.cli.quick without importing click; every other command line
(--config, --help, shell completion, every other verb) goes to the click commands of
alarmd.cli.commands. Both import this module's neighbours, never this module, so the
command's modules import one way.
"""

from __future__ import annotations

import os
import sys

from alarmd.cli import quick


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # click's shell completion calls the script with its own variable set.
    verb = None if os.environ.get("_ALARMD_COMPLETE") else quick.quick_verb(args)
    if verb is None:
        from alarmd.cli.commands import cli

        cli.main(args=args, prog_name="alarmd")
        return
    sys.exit(quick.run(verb, as_json=len(args) == 2))
