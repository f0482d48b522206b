"""Pages from Jinja2 templates (templates/, one base layout), with the headers every page carries.

Autoescaping is on for every template: alarm names and Twilio's sentences are text, never
markup. Asset URLs carry a digest of the file, so a browser may keep them for a year and
still sees a new one the moment it changes.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from alarmd import __version__
from alarmd.web.gate import csrf_token, session_id

if TYPE_CHECKING:
    import jinja2

# Scripts and styles only from the daemon itself; no frame, no plugin, no other origin
# for a form, no referrer (a sign-in link's code must not leak on).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@cache
def environment() -> jinja2.Environment:
    # Imported at the first page shown, not at start: most daemons serve only the API.
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("alarmd.web", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.globals.update(asset=asset, version=__version__)
    return env


@cache
def asset(name: str) -> str:
    data = resources.files("alarmd.web").joinpath("static", name).read_bytes()
    return f"/static/{name}?v={hashlib.sha256(data).hexdigest()[:12]}"


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = session_id(request)
    html = environment().get_template(template).render(
        request=request, csrf_token=csrf_token(session) if session else "", **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
