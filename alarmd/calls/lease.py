"""One daemon at a time works on an occurrence: it holds the occurrence's lease.

The lease (owner, lease_until) is taken when a delivery starts, renewed while it works
(its waits renew it) and given back at a clean stop. Another daemon, or this one after a restart, takes over
only when the lease has run out, was given back, or belongs to a process on this host
that no longer exists.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.store.models import Occurrence

log = logging.getLogger("alarmd.delivery")

# The statuses of an occurrence that is still being delivered.
OPEN_STATUSES = ("claimed", "dialling", "accepted")
LEASE = timedelta(seconds=30)
# Waits are cut into pieces this long so the lease is renewed well before it runs out.
RENEW_EVERY_SECONDS = 5.0


def owner_id() -> str:
    """This daemon process, as written in occurrences.owner: host/pid/random."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _owner_gone(owner: str) -> bool:
    """True when `owner` was a process on this host that no longer runs."""
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    def __init__(self, sessions: sessionmaker[Session], owner: str, stopping: threading.Event):
        self.sessions = sessions
        self.owner = owner
        # Set when the daemon stops: every wait returns at once, the occurrence left resumable.
        self.stopping = stopping

    def take(self, occurrence_id: int) -> bool | None:
        """Become the occurrence's owner unless a live daemon holds it.

        None: not taken. Else whether it is carried on from another run (a restart, a
        daemon that died) rather than claimed by this one (or by nobody yet).
        """
        now = clock.now()
        with self.sessions.begin() as session:
            owner = session.scalar(select(Occurrence.owner).where(Occurrence.id == occurrence_id))
            if owner == self.owner:
                return False  # claimed by this daemon a moment ago, lease and all
            free = or_(Occurrence.owner.is_(None), Occurrence.owner == self.owner,
                       Occurrence.lease_until.is_(None), Occurrence.lease_until < now)
            if owner is not None and owner != self.owner and _owner_gone(owner):
                free = or_(free, Occurrence.owner == owner)
            taken = session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.status.in_(OPEN_STATUSES),
                       Occurrence.finished_at.is_(None), free)
                .values(owner=self.owner, lease_until=now + LEASE)
            )
            if getattr(taken, "rowcount", 0) != 1:
                return None
        if owner is None:
            return False
        log.info("occurrence %s: carrying on where another run left it", occurrence_id)
        return True

    def renew(self, occurrence_id: int) -> bool:
        with self.sessions.begin() as session:
            result = session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.owner == self.owner)
                .values(lease_until=clock.now() + LEASE)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def give_back(self, occurrence_id: int) -> None:
        # An unfinished occurrence can then be taken over at once (by the next start).
        with self.sessions.begin() as session:
            session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.owner == self.owner)
                .values(lease_until=None)
            )

    def wait_until(self, occurrence_id: int, at: datetime) -> bool:
        """Sleep until `at`; False when the daemon stops or the lease was lost."""
        while True:
            left = (at - clock.now()).total_seconds()
            if left <= 0:
                return True
            if self.stopping.wait(min(left, RENEW_EVERY_SECONDS)):
                return False
            # Renewed only on long waits: the request right after a short one renews it.
            if left > RENEW_EVERY_SECONDS and not self.renew(occurrence_id):
                return False

    def pause(self, occurrence_id: int, seconds: float) -> bool:
        if self.stopping.wait(seconds):
            return False
        return self.renew(occurrence_id)
