"""The dialer interface: place a call, fetch its status. Failures raise DialError."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class CallRequest:
    to: str  # E.164, already resolved from the phonebook
    url: str | None = None  # TwiML URL (twilio.callingURI)
    twiml: str | None = None  # inline TwiML; used instead of url when given
    ring_seconds: int | None = None
    # Ask for answering machine detection (Twilio's MachineDetection=Enable).
    detect_machine: bool = False


@dataclass(frozen=True)
class PlacedCall:
    sid: str | None  # None for the dry-run dialer: nobody was called
    status: str  # the provider's first status ("queued"), or "dry-run"


@dataclass(frozen=True)
class CallOutcome:
    status: str  # queued | ringing | in-progress | completed | busy | failed | no-answer | canceled
    duration_seconds: int | None = None
    # With detection: human, machine_start, machine_end_beep, machine_end_silence,
    # machine_end_other, fax or unknown, once Twilio knows; else None.
    answered_by: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class RecentCall:
    """A call found in the provider's call list (to settle a request whose answer was lost)."""

    sid: str
    status: str
    created_at: datetime | None


FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


class Dialer(Protocol):
    mode: str  # "twilio" or "dry-run"

    def place_call(self, request: CallRequest) -> PlacedCall:
        """Ask the provider to ring `request.to`. Raises DialError."""
        ...

    def fetch_call(self, sid: str) -> CallOutcome:
        """The call's current status. Raises DialError."""
        ...

    def recent_calls(self, to: str) -> list[RecentCall]:
        """The newest calls from our number to `to`, newest first. Raises DialError."""
        ...

    def cancel_call(self, sid: str) -> None:
        """Stop a call that is still queued or ringing. Raises DialError."""
        ...

    def hang_up(self, sid: str) -> None:
        """End a call that was picked up (canceling stops only queued or ringing ones). Raises DialError."""
        ...
