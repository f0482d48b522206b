"""The dry-run dialer: same interface, rings nobody. The default without credentials."""

from __future__ import annotations

import logging

from alarmd.calls.dialers.base import CallOutcome, CallRequest, PlacedCall, RecentCall
from alarmd.errors import DialError

log = logging.getLogger("alarmd.dialer")


class DryRunDialer:
    mode = "dry-run"

    def __init__(self) -> None:
        self.placed: list[CallRequest] = []

    def place_call(self, request: CallRequest) -> PlacedCall:
        # The caller logs who would be called (it knows which numbers are secret).
        self.placed.append(request)
        return PlacedCall(sid=None, status="dry-run")

    def fetch_call(self, sid: str) -> CallOutcome:
        raise DialError("the dry-run dialer places no calls to follow", permanent=True)

    def recent_calls(self, to: str) -> list[RecentCall]:
        return []

    def cancel_call(self, sid: str) -> None:
        raise DialError("the dry-run dialer places no calls to cancel", permanent=True)

    def hang_up(self, sid: str) -> None:
        raise DialError("the dry-run dialer places no calls to hang up", permanent=True)
