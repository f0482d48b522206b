"""Pacing toward Twilio where Twilio asks for it: a rate-limited call waits what it was told, and then some.

Twilio answers 429 (error 20429) when an account sends too many requests at once, as a
hotel's 07:00 does. Retried after the same backoff, the refused requests of one burst
would arrive together again and be refused again. So the retry of a rate-limited request
waits the backoff or the Retry-After Twilio sent, whichever is longer, and then a share
of that wait more (up to JITTER), different for each attempt: the retries spread out.

The share is drawn from the attempt's id, not from a random source, so that
callplan.next_step stays a function of the record and a restart decides as the first run
did. The Retry-After itself is kept in memory only (a column would need a migration for
a few seconds' advice): after a restart the backoff, with its jitter, applies alone.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta

from alarmd.store.models import Attempt

# Twilio's code for too many requests, and the bare HTTP status the SDK reports as the
# code when an answer carries none.
RATE_LIMITED = frozenset({20429, 429})
JITTER = 0.5


def retry_wait(attempt: Attempt, backoff: timedelta, asked: Mapping[int, float]) -> timedelta:
    """How long after `attempt` failed its retry waits: the backoff, paced if Twilio was overloaded."""
    if attempt.error_code not in RATE_LIMITED:
        return backoff
    return timedelta(seconds=paced_seconds(backoff.total_seconds(), asked.get(attempt.id), attempt.id))


def paced_seconds(least: float, asked: float | None, attempt_id: int) -> float:
    """A rate-limited request's wait before it is sent again: `least` or what Twilio asked,
    whichever is longer, and the attempt's share of that more."""
    return max(least, asked or 0.0) * (1 + JITTER * share(attempt_id))


def share(attempt_id: int) -> float:
    """A number in [0, 1) that is the same for an attempt on every run, and differs between attempts."""
    return random.Random(attempt_id).random()


class AskedWaits:
    """The Retry-After each rate-limited attempt was given, for the deliveries under way.

    Each occurrence is delivered by one thread at a time, which alone writes its entry.
    """

    def __init__(self) -> None:
        self._waits: dict[int, dict[int, float]] = {}

    def note(self, occurrence_id: int, attempt_id: int, seconds: float | None) -> None:
        if seconds is not None:
            self._waits.setdefault(occurrence_id, {})[attempt_id] = seconds

    def of(self, occurrence_id: int) -> Mapping[int, float]:
        return self._waits.get(occurrence_id, {})

    def forget(self, occurrence_id: int) -> None:
        self._waits.pop(occurrence_id, None)
