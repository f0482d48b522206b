"""One daemon at a time works on an occurrence: it holds the occurrence's lease.

The lease (owner, lease_until) is taken when a delivery starts, renewed while it works
(its waits and every write renew it) and given back at a clean stop. Another daemon, or
this one after a restart, takes over only when the lease has run out, was given back,
or belongs to an earlier run of this node. Each takeover bumps a fencing token
(lease_epoch) that every later write of the delivery checks, so a node frozen past its
lease and woken again writes nothing.

A delivery's waits are all made here, through alarmd.clock.wait, so the daemon's stop ends
them at once and a test's fake clock passes them without sleeping.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.store.models import Occurrence

log = logging.getLogger("alarmd.delivery")

# The statuses of an occurrence that is still being delivered.
OPEN_STATUSES = ("claimed", "dialling", "accepted")
LEASE = timedelta(seconds=30)
# Waits are cut into pieces this long so the lease is renewed well before it runs out.
RENEW_EVERY_SECONDS = 5.0
# A request goes out only while the lease, as last proved, has at least this much more
# to run than the request may take (monotonic seconds).
TRUST_MARGIN = 5.0


def owner_id(node_id: str | None = None) -> str:
    """This daemon process, as written in occurrences.owner: "<node id>/<random>".

    The node id is the one kept in the state directory (config.node), so a restart of
    the same node knows the leases of its earlier run as its own; without one (a process
    that is not a daemon, such as a test), the id is random.
    """
    return f"{node_id or uuid.uuid4().hex[:16]}/{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(self, sessions: sessionmaker[Session], owner: str, stopping: threading.Event):
        self.sessions = sessions
        self.owner = owner
        self.node = owner.partition("/")[0]
        # Set when the daemon stops: every wait returns at once, the occurrence left resumable.
        self.stopping = stopping
        # The fencing token (lease_epoch) each held occurrence had when this run took it,
        # and when (monotonic) a write last proved the lease still ours.
        self._epochs: dict[int, int] = {}
        self._proved: dict[int, float] = {}

    def fence(self, occurrence_id: int) -> ColumnElement[bool]:
        """The rows this run may still write: its own lease, not taken over since."""
        return and_(Occurrence.id == occurrence_id, Occurrence.owner == self.owner,
                    Occurrence.lease_epoch == self._epochs.get(occurrence_id, -1))

    def epoch(self, occurrence_id: int) -> int:
        return self._epochs.get(occurrence_id, -1)

    def proved(self, occurrence_id: int) -> None:
        self._proved[occurrence_id] = clock.monotonic()

    def trusted(self, occurrence_id: int, seconds: float) -> bool:
        """Whether the lease surely still holds for `seconds` more, by this process's own clock.

        A node frozen (SIGSTOP, a paused VM) past its lease may wake just before a request;
        it sends only if its last proof of the lease, plus the request's time, still fits.
        """
        proved = self._proved.get(occurrence_id)
        return proved is not None and clock.monotonic() - proved + seconds < LEASE.total_seconds() - TRUST_MARGIN

    def take(self, occurrence_id: int) -> bool | None:
        """Become the occurrence's owner unless a live daemon holds it.

        None: not taken. Else whether it is carried on from another run (a restart, a
        daemon that died) rather than claimed by this one (or by nobody yet). A takeover
        bumps the occurrence's lease_epoch, which fences off the run it was taken from.
        """
        now = clock.now()
        with self.sessions.begin() as session:
            row = session.execute(select(Occurrence.owner, Occurrence.lease_epoch)
                                  .where(Occurrence.id == occurrence_id)).first()
            if row is None:
                return None
            owner, epoch = row
            if owner == self.owner:
                self._epochs[occurrence_id] = epoch
                self.proved(occurrence_id)
                return False  # claimed by this daemon a moment ago, lease and all
            free = or_(Occurrence.owner.is_(None), Occurrence.lease_until.is_(None),
                       Occurrence.lease_until < now)
            if owner is not None and owner.partition("/")[0] == self.node:
                # An earlier run of this node (the node id's lock says it has ended).
                free = or_(free, Occurrence.owner == owner)
            taken = session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.status.in_(OPEN_STATUSES),
                       Occurrence.finished_at.is_(None), Occurrence.lease_epoch == epoch, free)
                .values(owner=self.owner, lease_until=now + LEASE, lease_epoch=epoch + 1)
            )
            if getattr(taken, "rowcount", 0) != 1:
                return None
        self._epochs[occurrence_id] = epoch + 1
        self.proved(occurrence_id)
        if owner is None:
            return False
        log.info("occurrence %s: carrying on where another run left it", occurrence_id)
        return True

    def hold(self, session: Session, occurrence_id: int, **values: Any) -> bool:
        """In `session`, renew the lease (and write `values` to the occurrence) if it is still ours."""
        held = session.execute(update(Occurrence).where(self.fence(occurrence_id))
                               .values(**{"lease_until": clock.now() + LEASE, **values}))
        if getattr(held, "rowcount", 0) != 1:
            log.warning("occurrence %s: another node has taken it over; this one writes nothing more",
                        occurrence_id)
            return False
        self.proved(occurrence_id)
        return True

    def renew(self, occurrence_id: int) -> bool:
        with self.sessions.begin() as session:
            return self.hold(session, occurrence_id)

    def give_back(self, occurrence_id: int) -> None:
        # An unfinished occurrence can then be taken over at once (by the next start).
        with self.sessions.begin() as session:
            session.execute(update(Occurrence).where(self.fence(occurrence_id)).values(lease_until=None))
        self._epochs.pop(occurrence_id, None)
        self._proved.pop(occurrence_id, None)

    def wait_until(self, occurrence_id: int, at: datetime, wake: threading.Event | None = None) -> bool:
        """Sleep until `at`, or until `wake` is set (which the daemon's stop sets too, see
        Prepared.stop); False when the daemon stops or the lease was lost."""
        while True:
            left = (at - clock.now()).total_seconds()
            if left <= 0:
                return True
            if clock.wait(wake or self.stopping, min(left, RENEW_EVERY_SECONDS)):
                return not self.stopping.is_set()
            # Renewed only on long waits: the request right after a short one renews it.
            if left > RENEW_EVERY_SECONDS and not self.renew(occurrence_id):
                return False

    def pause(self, occurrence_id: int, seconds: float) -> bool:
        if clock.wait(self.stopping, seconds):
            return False
        return self.renew(occurrence_id)
