"""The Twilio adapter: the official SDK behind the dialer interface.

Twilio's errors become one DialError each: a sentence a person can act on, the code,
and whether retrying could help (a 4xx other than 20429 cannot).
"""

from __future__ import annotations

from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from alarmd.config import TwilioSettings
from alarmd.defaults import TWILIO_TIMEOUT_SECONDS
from alarmd.dialers.base import CallOutcome, CallRequest, PlacedCall
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


class TwilioDialer:
    mode = "twilio"

    def __init__(self, settings: TwilioSettings, timeout: float = TWILIO_TIMEOUT_SECONDS):
        assert settings.account_sid and settings.auth_token and settings.number_from
        self._from = settings.number_from
        self._url = settings.calling_uri
        self._client = Client(
            settings.account_sid,
            settings.auth_token,
            http_client=TwilioHttpClient(timeout=timeout),
        )
        if settings.api_base_url:
            # The SDK builds every Calls URL from this domain's base; tests and proxies
            # stand in for api.twilio.com by replacing it.
            self._client.api.base_url = settings.api_base_url

    def place_call(self, request: CallRequest) -> PlacedCall:
        kwargs: dict[str, Any] = {"to": request.to, "from_": self._from}
        if request.twiml:
            kwargs["twiml"] = request.twiml
        else:
            kwargs["url"] = request.url or self._url
        if request.ring_seconds:
            kwargs["timeout"] = request.ring_seconds
        call = self._request(lambda: self._client.calls.create(**kwargs), request.to)
        return PlacedCall(sid=str(call.sid), status=str(call.status or "queued"))

    def fetch_call(self, sid: str) -> CallOutcome:
        call = self._request(lambda: self._client.calls(sid).fetch(), "the number")
        duration = int(call.duration) if call.duration not in (None, "") else None
        return CallOutcome(status=str(call.status), duration_seconds=duration)

    @staticmethod
    def _request(send: Any, to: str) -> Any:
        try:
            return send()
        except TwilioRestException as exc:
            raise rest_error(exc, to) from None
        except requests.RequestException as exc:
            raise DialError(f"could not reach Twilio ({type(exc).__name__})") from None
        except TwilioException as exc:
            raise DialError(f"Twilio request failed ({exc})") from None


def rest_error(exc: TwilioRestException, to: str) -> DialError:
    """One sentence for a Twilio error. It names the raw number: callers mask secret ones."""
    code = exc.code if isinstance(exc.code, int) else None
    status = int(exc.status) if exc.status else 0
    template = KNOWN_ERRORS.get(code) if code is not None else None
    known = template.format(to=to) if template else None
    text = known or (exc.msg or "").strip().rstrip(".") or f"HTTP {status}"
    suffix = f" ({code})" if code is not None else f" (HTTP {status})"
    permanent = 400 <= status < 500 and code not in RETRYABLE_CODES
    return DialError(f"Twilio refused: {text}{suffix}", permanent=permanent, code=code)
