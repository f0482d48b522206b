"""The click commands' Session (alarmd.cli.session): the same, printing through click.echo."""

from __future__ import annotations

import click

from alarmd.cli.session import Session


class Context(Session):
    def write(self, text: str, colour: bool | None) -> None:
        click.echo(text, color=colour)


pass_ctx = click.make_pass_decorator(Context)
