"""`alarmd web`: a one-time sign-in link to the daemon's web page, opened in a browser when there is one.

As `jupyter` and `datasette --root` do: the daemon makes the link (POST /v1/web/links,
with the API token this user can read), the CLI prints it and opens it. `--sign-out-all`
revokes every browser's session instead.
"""

from __future__ import annotations

import os
import sys

import click

from alarmd.cli.context import Context, pass_ctx


@click.command("web")
@click.option("--sign-out-all", is_flag=True, help="Revoke every browser's session (and unused links).")
@click.option("--no-browser", is_flag=True, help="Only print the link.")
@pass_ctx
def web(ctx: Context, sign_out_all: bool, no_browser: bool) -> None:
    """Sign a browser in to the web page with a one-time link."""
    if sign_out_all:
        count = ctx.call("DELETE", "/v1/web/sessions")["signed_out"]
        noun = "session" if count == 1 else "sessions"
        ctx.echo(f"Signed out {count} web {noun}; every browser must sign in again.")
        return
    link = ctx.call("POST", "/v1/web/links")
    url = ctx.api().base + link["path"]
    ctx.echo(["Sign in to the web page with this link; it works once, for 10 minutes:", f"    {url}"])
    if not no_browser and has_display():
        import webbrowser

        webbrowser.open(url)


def has_display() -> bool:
    """Whether opening a browser would show one: on a server over SSH, Python's webbrowser
    would start a text browser in the terminal instead."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
