"""Idempotency-Key: a retried request gets the first answer back and does nothing again.

NMO retries a POST that timed out; the retry must never place a second call. The key
is reserved (a row marked in progress) before the request runs, so a retry arriving
while the first is still running waits for its answer instead of running it too.
Only successful answers are kept: a refused request stores nothing, and may be retried.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd.errors import Conflict
from alarmd.store.insert import insert_new
from alarmd.store.models import IdempotencyRecord

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 200
# How long a retry waits for the first request with its key to finish.
WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.05
_IN_PROGRESS = 0


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    """The same request, whatever the key order or spacing of its JSON body."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def begin(self, key: str, request_hash: str, now: datetime) -> Replay | None:
        """None when this request is the first with `key` (run it, then finish or abandon);
        else the stored answer to replay. Conflict when the key was used for another request."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self.sessions.begin() as session:
                # Keys older than the TTL are forgotten on the way.
                session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - TTL))
                reserved = insert_new(session, IdempotencyRecord, {
                    "key": key, "request_hash": request_hash, "status_code": _IN_PROGRESS,
                    "response_body": "", "created_at": now}, "key", returning=IdempotencyRecord.key)
                if reserved is not None:
                    return None
                record = session.get_one(IdempotencyRecord, key)
                stored = (record.request_hash, record.status_code, record.response_body)
            if stored[0] != request_hash:
                raise Conflict("this Idempotency-Key was already used for a different request; "
                               "use a new key for a new request.")
            if stored[1] != _IN_PROGRESS:
                return Replay(stored[1], json.loads(stored[2]))
            if time.monotonic() > deadline:
                raise Conflict("the first request with this Idempotency-Key has not finished; retry later.")
            time.sleep(_POLL_SECONDS)

    def finish(self, key: str, status_code: int, body: Any) -> None:
        with self.sessions.begin() as session:
            session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == key)
                            .values(status_code=status_code, response_body=json.dumps(body)))

    def abandon(self, key: str) -> None:
        with self.sessions.begin() as session:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key == key))
