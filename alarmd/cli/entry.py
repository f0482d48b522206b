"""The `alarmd` script's entry point (and `python -m alarmd`): the click group of alarmd.cli.commands."""

from __future__ import annotations

from alarmd.cli.commands import cli


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="alarmd")
