"""What every verb is handed: the config path, the API client (made on first use), output.

The root command (alarmd.cli.commands) makes one per run from `--config`; verbs take it
with `pass_ctx`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from alarmd.cli import formatting as fmt
from alarmd.cli import shapes

if TYPE_CHECKING:
    from alarmd.cli.client import ApiClient


class Context:
    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._client: ApiClient | None = None
        # NO_COLOR is read here, not in config: it is about this terminal, not alarmd.
        self.paint = fmt.Painter(fmt.use_colour(sys.stdout.isatty(), os.environ.get("NO_COLOR")))

    def api(self) -> ApiClient:
        if self._client is None:
            from alarmd.cli.client import ApiClient
            from alarmd.config.file import load_client_settings

            self._client = ApiClient(load_client_settings(self.config_path))
        return self._client

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None) -> Any:
        return self.api().request(method, path, body, query)

    def alarm(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A request answered with an alarm; WrongAnswer if what came back is not one."""
        return shapes.alarm(self.call(method, path, body), self.where(method, path))

    def where(self, method: str, path: str) -> str:
        return f"{self.api().base} ({method} {path})"

    def echo(self, lines: str | Sequence[str]) -> None:
        click.echo(lines if isinstance(lines, str) else "\n".join(lines), color=self.paint.colour)

    def echo_json(self, value: Any) -> None:
        click.echo(json_text(value))


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


pass_ctx = click.make_pass_decorator(Context)
