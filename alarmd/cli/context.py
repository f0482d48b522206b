"""What every click verb is handed: the config path, the API client (made on first use), output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from alarmd.cli import quick, shapes


class Context:
    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._client: Any = None
        self.paint = quick.stdout_painter()

    def api(self) -> Any:
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
        text = lines if isinstance(lines, str) else "\n".join(lines)
        click.echo(text, color=self.paint.colour)


pass_ctx = click.make_pass_decorator(Context)
