"""Signing in to the web page: sessions and one-time sign-in links, kept in the database.

Rows rather than a signed cookie: a signed cookie stays valid until it expires, however
often its owner signs out, while a row can be deleted (`alarmd web --sign-out-all`),
holds across restarts and is seen by every daemon on the same database. Each secret
(the session id in the cookie, the code in a link) is stored only as its SHA-256, so a
copy of the database signs nobody in. Checking the API token itself is the face's job:
it holds the token; this module only opens the session once it matched.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from alarmd.store.models import WebLink, WebSession

log = logging.getLogger("alarmd.web")

SESSION_LIFETIME = timedelta(days=30)
# Long enough to copy the link from a terminal to a phone, short enough to be worthless later.
LINK_LIFETIME = timedelta(minutes=10)
# 32 random bytes: as hard to guess as the API token itself.
SECRET_BYTES = 32


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


class SignIn:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def open_session(self, now: datetime) -> str:
        """A new session; the id to put in the cookie (only its digest is stored)."""
        session_id = secrets.token_urlsafe(SECRET_BYTES)
        with self.sessions.begin() as db:
            self._prune(db, now)
            db.add(WebSession(id_hash=digest(session_id), created_at=now, expires_at=now + SESSION_LIFETIME))
        log.info("web: a browser signed in")
        return session_id

    def session_valid(self, session_id: str, now: datetime) -> bool:
        if not session_id:
            return False
        with self.sessions() as db:
            expires = db.scalar(select(WebSession.expires_at).where(WebSession.id_hash == digest(session_id)))
        return expires is not None and now < expires

    def close_session(self, session_id: str) -> None:
        with self.sessions.begin() as db:
            db.execute(delete(WebSession).where(WebSession.id_hash == digest(session_id)))

    def issue_link(self, now: datetime) -> tuple[str, datetime]:
        """A one-time sign-in code and when it stops working."""
        code = secrets.token_urlsafe(SECRET_BYTES)
        expires = now + LINK_LIFETIME
        with self.sessions.begin() as db:
            self._prune(db, now)
            db.add(WebLink(code_hash=digest(code), created_at=now, expires_at=expires))
        log.info("web: a one-time sign-in link was made")
        return code, expires

    def redeem_link(self, code: str, now: datetime) -> str | None:
        """A new session for a link's code, used up at once; None if it is unknown, used or expired."""
        with self.sessions.begin() as db:
            # The delete is the check: of two browsers racing with one link, one deletes the row.
            gone = db.execute(delete(WebLink).where(WebLink.code_hash == digest(code),
                                                    WebLink.expires_at > now))
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                return None
        return self.open_session(now)

    def sign_out_all(self) -> int:
        """Revoke every session and every unused link; how many sessions there were."""
        with self.sessions.begin() as db:
            count = db.execute(delete(WebSession)).rowcount  # type: ignore[attr-defined]
            db.execute(delete(WebLink))
        log.info("web: every session signed out (%d)", count)
        return int(count)

    @staticmethod
    def _prune(db: Session, now: datetime) -> None:
        db.execute(delete(WebSession).where(WebSession.expires_at <= now))
        db.execute(delete(WebLink).where(WebLink.expires_at <= now))
