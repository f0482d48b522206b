"""Several nodes on one database: what changed elsewhere, each node's heartbeat, the node list.

A node learns of alarms changed through another node from the change log
(alarmd.store.changes), measures its clock against the database's at each heartbeat
(alarmd.store.dbclock), and writes a heartbeat row with its version, clock skew and a
hash of the settings that must agree across nodes (numbers, keepalive).
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd import __version__, clock
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.config.settings import Settings
from alarmd.store import changes, dbclock, trouble
from alarmd.store.models import Node
from alarmd.store.trouble import database_trouble
from alarmd.store.views import iso

log = logging.getLogger("alarmd.cluster")

# A node whose clock is further than this from the database's is reported.
MAX_SKEW = timedelta(seconds=2)
# A node not heard from for this long is shown as such, and left out of the agreement check.
ALIVE_WITHIN = timedelta(minutes=2)


class Cluster(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig, node_id: str):
        self.sessions = sessions
        self.live = live
        self.node_id = node_id
        self.started_at = clock.now()
        self.skew = timedelta(0)

    def latest_change(self) -> int:
        with self.sessions() as session:
            return changes.latest_change(session)

    def changes_since(self, last: int) -> tuple[int, set[int]]:
        with self.sessions() as session:
            return changes.changes_since(session, last)

    def heartbeat(self) -> timedelta:
        """Measure the clock against the database's, set the shared clock, write the heartbeat row.

        Being a write every few seconds, it is also how the node learns that its database
        is unavailable, and that it is back (alarmd.store.trouble).
        """
        try:
            offset = self._beat()
        except Exception as exc:
            trouble.noticed(database_trouble(exc))
            raise
        trouble.noticed(None)
        return offset

    def _beat(self) -> timedelta:
        with self.sessions.begin() as session:
            measured = dbclock.measure_offset(session)
            if measured is None:
                log.debug("the database answered too slowly to read its clock; keeping the offset measured before")
            offset = clock.offset() if measured is None else measured
            clock.set_offset(offset)
            if abs(offset) > MAX_SKEW and abs(self.skew) <= MAX_SKEW:
                log.warning("this node's clock is %.1f s off the database's; alarmd keeps time by the "
                            "database's, but fix the host's clock (NTP)", -offset.total_seconds())
            self.skew = offset
            now = clock.now()
            values = {"host": socket.gethostname(), "version": __version__, "last_seen": now,
                      "clock_skew_ms": int(-offset.total_seconds() * 1000),
                      "settings_hash": settings_hash(self.settings)}
            written = session.execute(update(Node).where(Node.id == self.node_id).values(**values))
            if getattr(written, "rowcount", 0) != 1:
                session.add(Node(id=self.node_id, started_at=self.started_at, **values))
            changes.prune(session, now)
        return offset

    def nodes(self, now: datetime) -> list[dict[str, Any]]:
        with self.sessions() as session:
            rows = session.scalars(select(Node).order_by(Node.started_at)).all()
            return [{"id": n.id, "host": n.host, "version": n.version, "last_heartbeat": iso(n.last_seen),
                     "clock_skew_ms": n.clock_skew_ms, "alive": now - n.last_seen <= ALIVE_WITHIN,
                     "this": n.id == self.node_id} for n in rows]

    def warnings(self, now: datetime) -> list[str]:
        """What an operator should hear about the cluster: a skewed clock, nodes that disagree."""
        found = []
        if abs(self.skew) > MAX_SKEW:
            found.append(f"this node's clock is {-self.skew.total_seconds():+.1f} s off the database's")
        with self.sessions() as session:
            hashes = set(session.scalars(select(Node.settings_hash).where(Node.last_seen >= now - ALIVE_WITHIN)))
        if len(hashes) > 1:
            found.append("the nodes disagree on twilio.phoneNumbers or alarmd.keepalive; give every node the same")
        return found


def settings_hash(settings: Settings) -> str:
    """A digest of what every node must agree on; the numbers themselves never leave the node."""
    keepalive = settings.keepalive
    shape = {"numbers": [[e.name, e.number, e.hidden, e.secret] for e in settings.twilio.phone_numbers],
             "keepalive": [keepalive.enabled, keepalive.every_days, str(keepalive.number), keepalive.at]}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
