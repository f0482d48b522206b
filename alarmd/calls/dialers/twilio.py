"""The Twilio adapter: the official SDK behind the dialer interface.

Twilio's errors become one DialError each: a sentence a person can act on, the code,
and whether retrying could help (a 4xx other than 20429 cannot). Failures where the
request may have reached Twilio (read timeout, dropped connection, 5xx) are marked
`uncertain`: a call may have been placed, so the caller looks before sending again.
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from alarmd.calls.dialers.base import CallOutcome, CallRequest, PlacedCall, RecentCall
from alarmd.calls.dialers.twilio_http import RetryAfterHttpClient
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
POOL_SIZE = 128  # connections kept to Twilio
# How many of the newest calls to a number are read to settle a lost answer.
RECENT_CALLS = 20


class TwilioDialer:
    mode = "twilio"

    def __init__(self, settings: TwilioSettings, timeout: float = TWILIO_TIMEOUT_SECONDS):
        assert settings.account_sid and settings.auth_token and settings.number_from
        self._from = settings.number_from
        self._url = settings.calling_uri
        self._http = RetryAfterHttpClient(timeout=timeout)
        self._client = Client(settings.account_sid, settings.auth_token, http_client=self._http)
        self._timeout = timeout
        # Every delivery thread shares this session; with many alarms due at once, a small
        # pool would open (and throw away) a new connection for most of them.
        session = self._client.http_client.session
        for scheme in ("https://", "http://"):
            session.mount(scheme, HTTPAdapter(pool_maxsize=POOL_SIZE))
        if settings.api_base_url:
            # The SDK builds every Calls URL from this domain's base; tests and proxies
            # stand in for api.twilio.com by replacing it.
            self._client.api.base_url = settings.api_base_url
        # requests reads the proxy and CA-bundle variables from the environment on every
        # request: about a millisecond, spent at the very instant a call is due. They are
        # read once here instead, for the one host this dialer talks to.
        found = session.merge_environment_settings(self._client.api.base_url, {}, None, None, None)
        session.proxies.update(found["proxies"])
        session.verify = found["verify"]
        session.trust_env = False

    def place_call(self, request: CallRequest) -> PlacedCall:
        kwargs: dict[str, Any] = {"to": request.to, "from_": self._from}
        if request.twiml:
            kwargs["twiml"] = request.twiml
        else:
            kwargs["url"] = request.url or self._url
        if request.ring_seconds:
            kwargs["timeout"] = request.ring_seconds
        if request.detect_machine:
            # "Enable" answers as soon as Twilio can tell (DetectMessageEnd would wait for the beep).
            kwargs["machine_detection"] = "Enable"
        call = self._request(lambda: self._client.calls.create(**kwargs), request.to)
        return PlacedCall(sid=str(call.sid), status=str(call.status or "queued"))

    def fetch_call(self, sid: str) -> CallOutcome:
        call = self._request(lambda: self._client.calls(sid).fetch(), "the number")
        duration = int(call.duration) if call.duration not in (None, "") else None
        return CallOutcome(status=str(call.status), duration_seconds=duration,
                           answered_by=str(call.answered_by) if call.answered_by else None)

    def recent_calls(self, to: str) -> list[RecentCall]:
        calls = self._request(
            lambda: self._client.calls.list(to=to, from_=self._from, limit=RECENT_CALLS), to)
        return [RecentCall(str(c.sid), str(c.status), c.date_created) for c in calls]

    def cancel_call(self, sid: str) -> None:
        self._request(lambda: self._client.calls(sid).update(status="canceled"), "the number")

    def hang_up(self, sid: str) -> None:
        self._request(lambda: self._client.calls(sid).update(status="completed"), "the number")

    def _request(self, send: Any, to: str) -> Any:
        try:
            return send()
        except TwilioRestException as exc:
            error = rest_error(exc, to)
            error.retry_after = self._http.retry_after()  # a 429's, for alarmd.calls.pacing
            raise error from None
        except requests.RequestException as exc:
            raise network_error(exc, self._timeout) from None
        except TwilioException as exc:
            raise DialError(f"Twilio request failed ({exc})", uncertain=True) from None


def network_error(exc: requests.RequestException, timeout: float) -> DialError:
    """Transient always; uncertain unless the connection was never made."""
    if isinstance(exc, requests.ConnectTimeout) or _refused(exc):
        return DialError(f"could not reach Twilio ({type(exc).__name__})")
    if isinstance(exc, requests.Timeout):
        return DialError(f"Twilio did not answer within {timeout:g} s", uncertain=True)
    return DialError(f"the connection to Twilio broke ({type(exc).__name__})", uncertain=True)


def _refused(exc: requests.RequestException) -> bool:
    # requests wraps urllib3's MaxRetryError, whose reason says whether a connection
    # was ever made; before one is, the request cannot have been sent.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError)


def rest_error(exc: TwilioRestException, to: str) -> DialError:
    """One sentence for a Twilio error. It names the raw number: callers mask secret ones."""
    code = exc.code if isinstance(exc.code, int) else None
    status = int(exc.status) if exc.status else 0
    template = KNOWN_ERRORS.get(code) if code is not None else None
    known = template.format(to=to) if template else None
    text = known or (exc.msg or "").strip().rstrip(".") or f"HTTP {status}"
    suffix = f" ({code})" if code is not None else f" (HTTP {status})"
    if status >= 500:
        # A 5xx says nothing certain about whether the call was placed.
        return DialError(f"Twilio failed: {text}{suffix}", code=code, uncertain=True)
    permanent = 400 <= status < 500 and status != 429 and code not in RETRYABLE_CODES
    return DialError(f"Twilio refused: {text}{suffix}", permanent=permanent, code=code)
