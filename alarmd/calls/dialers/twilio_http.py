"""The twilio SDK's HTTP client, keeping the Retry-After of a 429 for the request that got it.

The SDK turns an error answer into TwilioRestException without its headers, so the
Retry-After that Twilio may send with a 429 (error 20429, too many requests at once)
would be lost. This client remembers it per thread: every delivery thread shares one
client, and the exception is raised on the thread whose request got the answer.
"""

from __future__ import annotations

import threading
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

# A Retry-After longer than this is not believed as such (a typo, a date misread); the
# caller's own grace window bounds the wait in any case.
MAX_RETRY_AFTER_SECONDS = 3600.0


class RetryAfterHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK is untyped here
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._asked = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self._asked.seconds = None
        response = super().request(*args, **kwargs)
        if response.status_code == 429:
            self._asked.seconds = parse_retry_after((response.headers or {}).get("Retry-After"))
        return response

    def retry_after(self) -> float | None:
        """What the last answer on this thread asked to wait, in seconds; None if nothing."""
        seconds: float | None = getattr(self._asked, "seconds", None)
        return seconds


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in delay-seconds; None for no header or an HTTP-date.

    RFC 9110 also allows a date; the backoff then applies alone, as it does without the
    header, rather than this adapter reading the clock.
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not 0 <= seconds <= MAX_RETRY_AFTER_SECONDS:  # also refuses nan
        return None
    return seconds
