"""Who may see and change what: a live session for every page but sign-in, and for every post
a bounded body and a valid CSRF token, checked before anything is read or changed.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from alarmd import clock
from alarmd.alarms.service import AlarmService
from alarmd.web import csrf, sessions

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 64


class SignInNeeded(Exception):
    """No live session: the page sends the browser to /login."""


class CsrfRefused(Exception):
    """A post without this session's CSRF token: nothing is changed."""


class FormTooLarge(Exception):
    """A post larger than any of the page's forms."""


def require_session(service: AlarmService, request: Request) -> str:
    session = sessions.session_id(request)
    if not service.web_session_valid(session, clock.now()):
        raise SignInNeeded()
    return session


async def read_form(request: Request) -> FormData:
    """The posted form, read up to MAX_FORM_BYTES (a chunked body is counted as it comes)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge()
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return await Request(request.scope, replay).form(max_files=0, max_fields=MAX_FIELDS)


async def posted(service: AlarmService, request: Request) -> FormData:
    """A signed-in post's form, once its CSRF token is checked."""
    from starlette.concurrency import run_in_threadpool

    session = await run_in_threadpool(require_session, service, request)
    form = await read_form(request)
    given = form.get(csrf.FIELD)
    if not csrf.valid(session, given if isinstance(given, str) else None):
        raise CsrfRefused()
    return form
