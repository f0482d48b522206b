"""The Twilio adapter: the official SDK's public client behind the dialer interface.

Twilio's errors become one DialError each: a sentence a person can act on, the code,
and whether retrying could help (a 4xx other than 20429 cannot). Failures where the
request may have reached Twilio (read timeout, dropped connection, 5xx) are marked
`uncertain`: a call may have been placed, so the caller looks before sending again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from alarmd.calls.dialers.base import CallOutcome, CallRequest, PlacedCall, RecentCall
from alarmd.calls.dialers.twilio_http import ErrorAnswer, RequestFailed, TwilioApiHttpClient
from alarmd.config.settings import TwilioSettings
from alarmd.defaults import TWILIO_TIMEOUT_SECONDS
from alarmd.errors import DialError

# What a person should read for the errors a wake-up call most often meets.
KNOWN_ERRORS = {
    20003: "Twilio rejected the account SID or auth token",
    20429: "Twilio is rate limiting this account",
    21210: "the caller number (twilio.numberFrom) is not verified on this account",
    21211: "{to} is not a valid phone number",
    21217: "{to} is not a valid phone number",
    13224: "{to} is not a valid phone number",
    21219: "{to} is not a verified caller ID on this trial account",
    21215: "the account's geo permissions do not allow calling {to}",
    13227: "the account's geo permissions do not allow calling {to}",
}
RETRYABLE_CODES = frozenset({20429})
# How many of the newest calls to a number are read to settle a lost answer.
RECENT_CALLS = 20

T = TypeVar("T")


class TwilioDialer:
    mode = "twilio"

    def __init__(self, settings: TwilioSettings, timeout: float = TWILIO_TIMEOUT_SECONDS):
        assert settings.account_sid and settings.auth_token and settings.number_from
        self._sid, self._token = settings.account_sid, settings.auth_token
        self._from = settings.number_from
        self._url = settings.calling_uri
        self._base_url = settings.api_base_url
        self._timeout = timeout
        self._clients = threading.local()
        # The SDK imports the Calls resource on first use: at start, not at a call's due instant.
        self._client().calls  # noqa: B018

    def _client(self) -> Client:
        """This thread's client: requests' Session is not documented as safe to share between threads."""
        client: Client | None = getattr(self._clients, "client", None)
        if client is None:
            client = Client(self._sid, self._token,
                            http_client=TwilioApiHttpClient(self._timeout, self._base_url))
            self._clients.client = client
        return client

    def place_call(self, request: CallRequest) -> PlacedCall:
        fields: dict[str, Any] = {"to": request.to, "from_": self._from}
        if request.ring_seconds:
            fields["timeout"] = request.ring_seconds
        if request.detect_machine:
            # "Enable" answers as soon as Twilio can tell (DetectMessageEnd would wait for the beep).
            fields["machine_detection"] = "Enable"
        if request.twiml:
            fields["twiml"] = request.twiml
        else:
            fields["url"] = request.url or self._url
        call = self._request(lambda: self._client().calls.create(**fields), request.to, "create")
        return PlacedCall(sid=str(call.sid), status=str(call.status or "queued"))

    def fetch_call(self, sid: str) -> CallOutcome:
        call = self._request(lambda: self._client().calls(sid).fetch(), "the number", "fetch")
        duration = int(call.duration) if call.duration not in (None, "") else None
        return CallOutcome(status=str(call.status), duration_seconds=duration,
                           answered_by=str(call.answered_by) if call.answered_by else None)

    def recent_calls(self, to: str) -> list[RecentCall]:
        calls = self._request(lambda: self._client().calls.list(
            to=to, from_=self._from, limit=RECENT_CALLS, page_size=RECENT_CALLS), to, None)
        return [RecentCall(str(c.sid), str(c.status), c.date_created) for c in calls]

    def cancel_call(self, sid: str) -> None:
        self._update(sid, "canceled")

    def hang_up(self, sid: str) -> None:
        self._update(sid, "completed")

    def _update(self, sid: str, status: str) -> None:
        self._request(lambda: self._client().calls(sid).update(status=status), "the number", "update")

    def _request(self, send: Callable[[], T], to: str, doing: str | None) -> T:
        try:
            return send()
        except RequestFailed as exc:
            raise network_error(exc, self._timeout) from None
        except ErrorAnswer as exc:
            raise rest_error(exc, to, doing) from None
        except (TwilioException, ValueError) as exc:
            # An answer the SDK could not read (error answers raise ErrorAnswer before it sees them).
            raise DialError(f"Twilio request failed ({summary(exc)})", uncertain=True) from None


def network_error(exc: RequestFailed, timeout: float) -> DialError:
    """Transient always; uncertain unless the request cannot have been sent."""
    if not exc.sent:
        return DialError(f"could not reach Twilio ({exc.reason})")
    if exc.timed_out:
        return DialError(f"Twilio did not answer within {timeout:g} s", uncertain=True)
    return DialError(f"the connection to Twilio broke ({exc.reason})", uncertain=True)


def rest_error(exc: ErrorAnswer, to: str, doing: str | None) -> DialError:
    """One sentence for a Twilio error. It names the raw number: callers mask secret ones.

    `doing` ("create", "fetch", "update") words Twilio's own message as the SDK does for
    a record; a list read's error is Twilio's message alone.
    """
    template = KNOWN_ERRORS.get(exc.code)
    text = template.format(to=to) if template else exc.message.rstrip(".")
    if doing and not template:
        text = f"Unable to {doing} record: {text}" if text else f"Unable to {doing} record"
    text = text or f"HTTP {exc.status}"
    if exc.status >= 500:
        # A 5xx says nothing certain about whether the call was placed.
        return DialError(f"Twilio failed: {text} ({exc.code})", code=exc.code, uncertain=True,
                         retry_after=exc.retry_after)
    permanent = exc.status != 429 and exc.code not in RETRYABLE_CODES
    return DialError(f"Twilio refused: {text} ({exc.code})", permanent=permanent, code=exc.code,
                     retry_after=exc.retry_after)


def summary(exc: Exception) -> str:
    """What went wrong in a few words, for an answer the SDK could not read."""
    # TwilioRestException's text is a report of several lines; its `msg` is the sentence.
    text = str(exc.msg if isinstance(exc, TwilioRestException) else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
