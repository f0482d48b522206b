"""What every verb is handed: the config path, the API client (made on first use), output.

Click-free, so a verb answered without click (alarmd.cli.fast) and the same verb through
its click command (alarmd.cli.commands, whose Context adds click's echo) run one body.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alarmd.cli import quick, shapes

if TYPE_CHECKING:
    from alarmd.cli.client import ApiClient

# click.echo strips these (click._compat._ansi_re) when the output gets no colour.
ANSI_PATTERN = r"\033\[[0-?]*[ -/]*[@-~]"


class Session:
    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._client: ApiClient | None = None
        self.paint = quick.stdout_painter()

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
        self.write(lines if isinstance(lines, str) else "\n".join(lines), self.paint.colour)

    def write(self, text: str, colour: bool | None) -> None:
        """One line or more on stdout as click.echo(text, color=colour) writes them on a
        text stream it takes as it is (alarmd.cli.fast checks that it would)."""
        out = text + "\n"
        strip = not colour if colour is not None else not sys.stdout.isatty()
        if strip and "\x1b" in out:
            import re

            out = re.sub(ANSI_PATTERN, "", out)
        sys.stdout.write(out)
        sys.stdout.flush()
