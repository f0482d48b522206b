"""The Twilio adapter: the official SDK behind the dialer interface.

Twilio's errors become one DialError each: a sentence a person can act on, the code,
and whether retrying could help (a 4xx other than 20429 cannot). Failures where the
request may have reached Twilio (read timeout, dropped connection, 5xx) are marked
`uncertain`: a call may have been placed, so the caller looks before sending again.

The Calls resource is reached through the SDK's own request path (twilio.base.version:
its auth, HTTP client, answer parsing and exceptions), not through `client.api`: touching
that imports all ~90 of Twilio's account-level resource modules, about 7 MB held by the
daemon all day for the one resource it uses.
"""

from __future__ import annotations

import json
from typing import Any

from twilio.base import deserialize
from twilio.base.domain import Domain
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.base.page import Page
from twilio.base.version import Version
from twilio.rest import Client

from alarmd.calls.dialers.base import CallOutcome, CallRequest, PlacedCall, RecentCall
from alarmd.calls.dialers.direct_http import RequestFailed
from alarmd.calls.dialers.twilio_http import http_client_for
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
API_BASE_URL = "https://api.twilio.com"  # the SDK's own for the Api domain
API_VERSION = "2010-04-01"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class _CallPage(Page):  # type: ignore[misc]  # the SDK is untyped here
    """A page of the Calls list; its records stay the JSON objects Twilio sent."""

    def get_instance(self, payload: dict[str, Any]) -> dict[str, Any]:
        return payload


class TwilioDialer:
    mode = "twilio"

    def __init__(self, settings: TwilioSettings, timeout: float = TWILIO_TIMEOUT_SECONDS):
        assert settings.account_sid and settings.auth_token and settings.number_from
        self._from = settings.number_from
        self._url = settings.calling_uri
        # The SDK builds every Calls URL from this domain's base; tests and proxies stand
        # in for api.twilio.com by replacing it.
        base_url = settings.api_base_url or API_BASE_URL
        self._http = http_client_for(base_url, timeout)
        self._client = Client(settings.account_sid, settings.auth_token, http_client=self._http)
        self._timeout = timeout
        self._api = Version(Domain(self._client, base_url), API_VERSION)
        self._calls = f"/Accounts/{settings.account_sid}/Calls"

    def place_call(self, request: CallRequest) -> PlacedCall:
        # The form fields, in the order the SDK's CallList.create sends them.
        data: dict[str, Any] = {"To": request.to, "From": self._from}
        if request.ring_seconds:
            data["Timeout"] = request.ring_seconds
        if request.detect_machine:
            # "Enable" answers as soon as Twilio can tell (DetectMessageEnd would wait for the beep).
            data["MachineDetection"] = "Enable"
        if request.twiml:
            data["Twiml"] = request.twiml
        else:
            data["Url"] = request.url or self._url
        call = self._request(lambda: self._api.create("POST", f"{self._calls}.json", data=data, headers=FORM),
                             request.to)
        return PlacedCall(sid=str(call.get("sid")), status=str(call.get("status") or "queued"))

    def fetch_call(self, sid: str) -> CallOutcome:
        call = self._request(lambda: self._api.fetch("GET", self._call(sid), headers={"Accept": "application/json"}),
                             "the number")
        duration = int(call["duration"]) if call.get("duration") not in (None, "") else None
        answered_by = call.get("answered_by")
        return CallOutcome(status=str(call.get("status")), duration_seconds=duration,
                           answered_by=str(answered_by) if answered_by else None)

    def recent_calls(self, to: str) -> list[RecentCall]:
        def newest() -> list[dict[str, Any]]:
            params = {"To": to, "From": self._from, "PageSize": RECENT_CALLS}
            response = self._api.page("GET", f"{self._calls}.json", params=params, headers=FORM)
            page = _CallPage(self._api, response, {"account_sid": self._client.account_sid})
            return list(self._api.stream(page, RECENT_CALLS))

        return [RecentCall(str(c.get("sid")), str(c.get("status")), deserialize.rfc2822_datetime(c.get("date_created")))
                for c in self._request(newest, to)]

    def cancel_call(self, sid: str) -> None:
        self._update(sid, "canceled")

    def hang_up(self, sid: str) -> None:
        self._update(sid, "completed")

    def _call(self, sid: str) -> str:
        return f"{self._calls}/{sid}.json"

    def _update(self, sid: str, status: str) -> None:
        self._request(lambda: self._api.update("POST", self._call(sid), data={"Status": status}, headers=FORM),
                      "the number")

    def _request(self, send: Any, to: str) -> Any:
        try:
            return send()
        except RequestFailed as exc:
            raise network_error(exc, self._timeout) from None
        except TwilioException as exc:
            # A list read answered with an error comes as a bare TwilioException (see page_refused).
            refused = exc if isinstance(exc, TwilioRestException) else page_refused(exc)
            if refused is None:
                raise DialError(f"Twilio request failed ({exc})", uncertain=True) from None
            error = rest_error(refused, to)
            error.retry_after = self._http.retry_after()  # a 429's, for alarmd.calls.pacing
            raise error from None


def page_refused(exc: TwilioException) -> TwilioRestException | None:
    """The error answer behind the SDK's "Unable to fetch page" (raised with the response), as a REST error."""
    response: Any = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    if not isinstance(status, int) or status < 400:
        return None
    try:
        body = json.loads(response.text)
    except (TypeError, ValueError):
        body = None
    body = body if isinstance(body, dict) else {}
    return TwilioRestException(status, "", msg=str(body.get("message") or ""), code=body.get("code"))


def network_error(exc: RequestFailed, timeout: float) -> DialError:
    """Transient always; uncertain unless the request cannot have been sent."""
    if not exc.sent:
        return DialError(f"could not reach Twilio ({exc.reason})")
    if exc.timed_out:
        return DialError(f"Twilio did not answer within {timeout:g} s", uncertain=True)
    return DialError(f"the connection to Twilio broke ({exc.reason})", uncertain=True)


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
