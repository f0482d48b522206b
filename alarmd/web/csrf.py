"""CSRF tokens: every form that changes something carries one, and a post without it changes nothing.

Signed-in forms carry an HMAC of the session id: unguessable without the cookie, the
same on every page of a session, and nothing to store. The sign-in form comes before
any session, so it pairs a random cookie with the same value in the form (double
submit). A Bearer header is never a reason to skip the check: the page's routes
take no bearer token at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

FIELD = "csrf"
LOGIN_COOKIE = "alarmd_login"


def token_for(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"alarmd web csrf", hashlib.sha256).hexdigest()


def valid(session_id: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(token_for(session_id).encode(), (given or "").encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_valid(cookie: str | None, given: str | None) -> bool:
    return bool(cookie) and bool(given) and hmac.compare_digest((cookie or "").encode(), (given or "").encode())
