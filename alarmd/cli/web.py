"""`alarmd web`: a one-time sign-in link to the daemon's web page, opened in a browser when there is one.

As `jupyter` and `datasette --root` do: the daemon makes the link (POST /v1/web/links,
with the API token this user can read), the CLI prints it and opens it. `--sign-out-all`
revokes every browser's session instead. What it does is alarmd.cli.verbs.web.
"""

from __future__ import annotations

import click

from alarmd.cli import verbs
from alarmd.cli.context import Context, pass_ctx


@click.command("web")
@click.option("--sign-out-all", is_flag=True, help="Revoke every browser's session (and unused links).")
@click.option("--no-browser", is_flag=True, help="Only print the link.")
@pass_ctx
def web(ctx: Context, sign_out_all: bool, no_browser: bool) -> None:
    """Sign a browser in to the web page with a one-time link."""
    verbs.web(ctx, sign_out_all=sign_out_all, no_browser=no_browser)
