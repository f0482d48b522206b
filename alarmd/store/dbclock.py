"""How far this host's clock is from the database's: the nodes' one clock (alarmd.clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from alarmd import clock

# A reading is trusted only from a round trip this short: its error is at most half of it.
# A slow one (a busy server, a connection being made, a host swapping) could put the node's
# clock seconds ahead, and a node whose clock is ahead rings early.
MAX_ROUND_TRIP = timedelta(milliseconds=250)
SAMPLES = 3


def measure_offset(session: Session) -> timedelta | None:
    """The database's clock minus this host's, read at the middle of the quickest of a few
    round trips; None when none was quick enough to trust (keep the offset measured before).

    SQLite lives on this host, so its clock is this host's: zero, and no query.
    """
    if session.get_bind().dialect.name != "postgresql":
        return timedelta(0)
    # The connection is checked out and the transaction begun first, so that what is timed
    # below is one round trip and nothing else.
    session.execute(text("SELECT 1"))
    best: tuple[timedelta, timedelta] | None = None
    for _ in range(SAMPLES):
        before = clock.host_now()
        database_now = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        after = clock.host_now()
        assert isinstance(database_now, datetime)
        trip = after - before
        if best is None or trip < best[0]:
            best = (trip, database_now - (before + trip / 2))
    assert best is not None
    return best[1] if best[0] <= MAX_ROUND_TRIP else None
