"""The `alarmd` command: the root click group, which loads each verb's module when it is asked for.

Click's "lazily loading group" pattern: `list_commands` and `get_command` read the table
below, so `alarmd list` imports the module of `list` and no other verb's, and `alarmd run`
none of the verbs that ask the daemon. `--help` and shell completion list every verb, and
so load them all. Every failure leaves as one line on stderr and an exit status.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from alarmd import __version__
from alarmd.cli.context import Context
from alarmd.cli.errors import EXIT_BAD_INPUT, EXIT_FAILURE, fail, report

# Each verb and where its click command is: "module:attribute".
VERBS = {
    "add": "alarmd.cli.editing:add",
    "edit": "alarmd.cli.editing:edit",
    "remove": "alarmd.cli.editing:remove",
    "pause": "alarmd.cli.editing:pause",
    "resume": "alarmd.cli.editing:resume",
    "skip": "alarmd.cli.editing:skip",
    "unskip": "alarmd.cli.editing:unskip",
    "dial": "alarmd.cli.editing:dial",
    "list": "alarmd.cli.reading:list_",
    "show": "alarmd.cli.reading:show",
    "history": "alarmd.cli.reading:history",
    "status": "alarmd.cli.reading:status",
    "next": "alarmd.cli.reading:next_",
    "web": "alarmd.cli.web:web",
    "config": "alarmd.cli.configverbs:config_group",
    "run": "alarmd.cli.offline:run",
    "db": "alarmd.cli.offline:db",
}


class AlarmdGroup(click.Group):
    """The root group: the verbs of VERBS, loaded on first use; failures reported in one line.

    The reporting is done in main() rather than around it, so the CliRunner in tests sees
    what users see.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = VERBS.get(cmd_name)
        if where is None:
            return None
        module, _, name = where.partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command), where
        return command

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.NoSuchCommand as exc:
            # Click suggests a name ("Did you mean 'list'?") from self.commands, which this group leaves empty.
            raise click.NoSuchCommand(exc.command_name, possibilities=VERBS, ctx=ctx) from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        code = run_reporting_errors(
            lambda: super(AlarmdGroup, self).main(args, prog_name, complete_var,
                                                  standalone_mode=False, **extra))
        if standalone_mode:
            sys.exit(code)
        return code


def run_reporting_errors(invoke: Callable[[], Any]) -> int:
    try:
        result = invoke()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        fail("aborted.")
        return EXIT_FAILURE
    except click.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `alarmd` (click >= 8.2): help, as 8.1 did
            click.echo(exc.format_message())
            return 0
        fail(exc.format_message())
        return EXIT_BAD_INPUT
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc)
    return result if isinstance(result, int) else 0


@click.group("alarmd", cls=AlarmdGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="ALARMD_CONFIG", metavar="PATH",
              type=click.Path(dir_okay=False), help="Config file (default: see README).")
@click.version_option(__version__, prog_name="alarmd")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """alarmd: wake-up calls through Twilio.

    An ALARM is named by its id or its unique name. Shell completion:
    eval "$(_ALARMD_COMPLETE=bash_source alarmd)" (zsh_source, fish_source).
    """
    ctx.obj = Context(config_path)
