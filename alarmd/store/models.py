"""alarmd's own tables: the truth about alarms, occurrences and calls (DESIGN decision 1).

All instants are stored in UTC. SQLite keeps no zone, so UTCDateTime puts it back on
the way out; the rest of the code only ever sees aware datetimes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC instant: `timestamptz` on PostgreSQL, naive UTC text on SQLite.

    PostgreSQL compares timestamptz values as instants, whatever the session's TimeZone;
    SQLite has no zone at all, so the UTC offset is put back on the way out.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Alarm(Base):
    __tablename__ = "alarms"
    # AUTOINCREMENT: a removed alarm's id is never given again; NMO may still hold it.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # once | daily | cron
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # once
    # daily: its time, "HH:MM"; once: the wall time asked for, only when the spring gap
    # moved it forward (so its ring is marked gap_moved), else None.
    time_of_day: Mapped[str | None] = mapped_column(String(5))
    days: Mapped[str | None] = mapped_column(String(30))  # daily, "0,1,2,3,4" (0 = Monday)
    cron: Mapped[str | None] = mapped_column(String(200))
    tz: Mapped[str] = mapped_column(String(64))
    to_ref: Mapped[str] = mapped_column(String(100))  # phoneNumbers index or name, as given
    # Whom it calls, pinned when it was set: the entry's name and its number then. It rings
    # that name at its number now, or that number when the name went (a rename); an index
    # shift never retargets it. Null only in rows from before revision 0002, until the
    # daemon's next start pins them (alarmd.alarms.pins).
    to_name: Mapped[str | None] = mapped_column(String(100))
    to_number: Mapped[str | None] = mapped_column(String(20))  # E.164
    then_ref: Mapped[str | None] = mapped_column(String(100))  # escalation fallback
    then_name: Mapped[str | None] = mapped_column(String(100))
    then_number: Mapped[str | None] = mapped_column(String(20))
    grace_seconds: Mapped[int] = mapped_column(Integer)
    ring_seconds: Mapped[int | None] = mapped_column(Integer)
    say: Mapped[str | None] = mapped_column(Text)
    redial_attempts: Mapped[int | None] = mapped_column(Integer)
    redial_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    # Ring with answering machine detection; a machine is not an answer. None: the
    # config's alarmd.redial.requireHuman decides.
    require_human: Mapped[bool | None] = mapped_column(Boolean)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skip_instants: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of ISO instants
    # The next occurrence not yet claimed; None once a one-off has rung.
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    occurrences: Mapped[list[Occurrence]] = relationship(back_populates="alarm")

    def skip_reason(self, instant: datetime) -> str | None:
        """Why this alarm does not ring at `instant` (paused, told to skip it), or None."""
        if self.paused and (self.paused_until is None or instant < self.paused_until):
            return "paused"
        if instant.isoformat() in json.loads(self.skip_instants or "[]"):
            return "skipped by request"
        return None


class Occurrence(Base):
    """One due ring of an alarm (or a manual dial, or a keepalive), claimed before dialling."""

    __tablename__ = "occurrences"
    # NMO holds the id a dial answered with: never given again.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: inserting it is the claim (DESIGN decision 3). "alarm:<id>:<instant>",
    # "keepalive:<instant>", "dial:<uuid>".
    claim_key: Mapped[str] = mapped_column(String(120), unique=True)
    alarm_id: Mapped[int | None] = mapped_column(
        ForeignKey("alarms.id", ondelete="SET NULL"), index=True
    )
    alarm_name: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(20))  # alarm | dial | keepalive
    to_ref: Mapped[str] = mapped_column(String(100))
    # Pinned at the claim, as on the alarm: an open occurrence keeps calling whom it was
    # claimed for, whatever is edited or reordered meanwhile.
    to_name: Mapped[str | None] = mapped_column(String(100))
    to_number: Mapped[str | None] = mapped_column(String(20))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # claimed | dialling | accepted | answered | unanswered | failed | missed | skipped | dry-run | refused
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which daemon is delivering it, and until when that holds without a renewal; a
    # restarted or second daemon takes over only an expired lease (alarmd.calls.delivery).
    owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every takeover; a delivery's writes check it (a fencing token), so a node
    # frozen past its lease writes nothing over its successor's work.
    lease_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A manual dial answered 202 holds its first attempt in the cost guard from this
    # instant until the attempt's row takes its place (alarmd.calls.costguard).
    reserved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    alarm: Mapped[Alarm | None] = relationship(back_populates="occurrences")
    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="occurrence", order_by="Attempt.id", cascade="all, delete-orphan"
    )


class Attempt(Base):
    """One request to the dialer for an occurrence, with what came of it."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("occurrences.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(20))  # E.164
    number_name: Mapped[str | None] = mapped_column(String(100))
    # Whether the number was secret when this call was made: its digits stay masked after
    # the entry leaves the config. Null in rows from before revision 0002 (unknown).
    secret: Mapped[bool | None] = mapped_column(Boolean)
    dialer: Mapped[str] = mapped_column(String(20))  # twilio | dry-run
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    # requesting | accepted | dry-run | error, then Twilio's final call status
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    # Who picked up, as Twilio's answering machine detection says (human, machine_start,
    # machine_end_beep, fax, unknown, ...); None when detection was not asked for.
    answered_by: Mapped[str | None] = mapped_column(String(30))
    # The request may have placed a call: a SID came back, its answer was lost, or it is
    # still in flight. Only these count for the cost guard; a refused connection does not.
    may_have_placed: Mapped[bool] = mapped_column(Boolean, default=True)

    occurrence: Mapped[Occurrence] = relationship(back_populates="attempts")


class StateEntry(Base):
    """Small facts the daemon keeps across restarts (first start, keepalive bookkeeping)."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IdempotencyRecord(Base):
    """The first answer to a POST sent with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AlarmChange(Base):
    """One change to an alarm; other nodes read the ids past the last they saw (alarmd.store.changes)."""

    __tablename__ = "alarm_changes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Node(Base):
    """A daemon sharing the database: its heartbeat, clock skew and a hash of its settings."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_skew_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    settings_hash: Mapped[str] = mapped_column(String(64))


class WebSession(Base):
    """A browser signed in to the web page; the cookie holds the id, the row only its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WebLink(Base):
    """A one-time sign-in link (`alarmd web`), kept as the SHA-256 of its code until used or expired."""

    __tablename__ = "web_links"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
