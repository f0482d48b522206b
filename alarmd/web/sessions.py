"""The session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS, holding a random id and never the token.

The id is checked against the database (alarmd.alarms.signin) on every request, so a
sign-out, `alarmd web --sign-out-all` or the 30 days' end takes effect at once. Lax
rather than Strict: a one-time link opened from a terminal or a chat is a cross-site
navigation, and Strict would drop the cookie on its way to the page.
"""

from __future__ import annotations

from fastapi import Request, Response

from alarmd.alarms.signin import SESSION_LIFETIME

COOKIE = "alarmd_session"


def is_https(request: Request) -> bool:
    # uvicorn sets the scheme from its own TLS, or from X-Forwarded-Proto when the
    # request came through the proxy alarmd.trustProxy names (and nobody else's).
    return request.url.scheme == "https"


def session_id(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=is_https(request))


def keep_session(response: Response, request: Request, new_id: str) -> None:
    set_cookie(response, request, COOKIE, new_id, int(SESSION_LIFETIME.total_seconds()))


def drop_session(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
