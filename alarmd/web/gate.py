"""Who may see and change what: a live session for every page but sign-in, and for every post
a bounded body and a valid CSRF token, checked before anything is read or changed.

The session cookie is HttpOnly, SameSite=Lax, Secure over HTTPS, and holds a random id,
never the token. The id is checked against the database (alarmd.alarms.signin) on every
request, so a sign-out, `alarmd web --sign-out-all` or the 30 days' end takes effect at
once. Lax rather than Strict: a one-time link opened from a terminal or a chat is a
cross-site navigation, and Strict would drop the cookie on its way to the page.

Signed-in forms carry a CSRF token that is an HMAC of the session id: unguessable
without the cookie, the same on every page of a session, and nothing to store. The
sign-in form comes before any session, so it pairs a random cookie with the same value
in the form (double submit). A Bearer header is never a reason to skip the check: the
page's routes take no bearer token at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from alarmd import clock
from alarmd.alarms.service import AlarmService
from alarmd.alarms.signin import SESSION_LIFETIME
from alarmd.digits import is_digits

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 64
SESSION_COOKIE = "alarmd_session"
LOGIN_COOKIE = "alarmd_login"
CSRF_FIELD = "csrf"


class SignInNeeded(Exception):
    """No live session: the page sends the browser to /login."""


class CsrfRefused(Exception):
    """A post without this session's CSRF token: nothing is changed."""


class FormTooLarge(Exception):
    """A post larger than any of the page's forms."""


# --- the session cookie -----------------------------------------------------------------


def is_https(request: Request) -> bool:
    # uvicorn sets the scheme from its own TLS, or from X-Forwarded-Proto when the
    # request came through the proxy alarmd.trustProxy names (and nobody else's).
    return request.url.scheme == "https"


def session_id(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=is_https(request))


def keep_session(response: Response, request: Request, new_id: str) -> None:
    set_cookie(response, request, SESSION_COOKIE, new_id, int(SESSION_LIFETIME.total_seconds()))


def drop_session(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


def require_session(service: AlarmService, request: Request) -> str:
    session = session_id(request)
    if not service.web_session_valid(session, clock.now()):
        raise SignInNeeded()
    return session


# --- CSRF tokens --------------------------------------------------------------------------


def csrf_token(session: str) -> str:
    return hmac.new(session.encode(), b"alarmd web csrf", hashlib.sha256).hexdigest()


def csrf_valid(session: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session).encode(), (given or "").encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_valid(cookie: str | None, given: str | None) -> bool:
    return bool(cookie) and bool(given) and hmac.compare_digest((cookie or "").encode(), (given or "").encode())


# --- posts --------------------------------------------------------------------------------


async def read_form(request: Request) -> FormData:
    """The posted form, read up to MAX_FORM_BYTES (a chunked body is counted as it comes)."""
    declared = request.headers.get("content-length", "")
    if is_digits(declared) and int(declared) > MAX_FORM_BYTES:
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
    session = await run_in_threadpool(require_session, service, request)
    form = await read_form(request)
    given = form.get(CSRF_FIELD)
    if not csrf_valid(session, given if isinstance(given, str) else None):
        raise CsrfRefused()
    return form
