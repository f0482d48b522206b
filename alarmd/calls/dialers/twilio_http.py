"""The HTTP client the Twilio SDK sends with: the SDK's own TwilioHttpClient (requests), extended.

A custom HTTP client is the SDK's documented way to change how requests go out. This one
calls the SDK's own `request()` and adds what alarmd needs around it:
- what the SDK addresses to Twilio's hosts goes to `twilio.apiBaseURL` when one is set,
  so tests and proxies stand in for every host by path;
- an error answer raises ErrorAnswer with its status, Twilio's code and message and a
  429's Retry-After: TwilioRestException keeps no headers, and a list page's error
  comes from the SDK as a bare TwilioException;
- a request that got no answer raises RequestFailed, which says whether it may have
  reached Twilio (the dialer decides from that whether a call may have been placed).
Proxies, CA bundles and TLS host-name checks are requests' own.
"""

from __future__ import annotations

import json
import ssl

import requests
import urllib3.exceptions
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

# The hosts the SDK addresses that `twilio.apiBaseURL` stands for (Studio for later).
TWILIO_HOSTS = ("https://api.twilio.com", "https://studio.twilio.com")
# A Retry-After longer than this is not believed as such (a typo, a date misread); the
# caller's own grace window bounds the wait in any case.
MAX_RETRY_AFTER_SECONDS = 3600.0


class ErrorAnswer(Exception):
    """Twilio answered with an error: its HTTP status, its code and message, and how long it asked to wait."""

    def __init__(self, status: int, code: int, message: str, retry_after: float | None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class RequestFailed(Exception):
    """No answer. `sent`: the request may have reached Twilio; `timed_out`: it ran out of time."""

    def __init__(self, reason: str, sent: bool, timed_out: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.sent = sent
        self.timed_out = timed_out


class TwilioApiHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK is untyped here
    def __init__(self, timeout: float, base_url: str | None = None):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        try:
            response: Response = super().request(method, self.address(url), params=params, data=data,
                                                 headers=headers, auth=auth, timeout=timeout,
                                                 allow_redirects=allow_redirects)
        except OSError as exc:  # requests' exceptions are OSErrors, as is a CA bundle it cannot find
            raise requests_failure(exc) from None
        if response.status_code >= 400:
            raise error_answer(response)
        return response

    def address(self, url: str) -> str:
        """`url` with a Twilio host replaced by the configured base URL, if there is one."""
        if self.base_url is not None:
            for host in TWILIO_HOSTS:
                if url == host or url.startswith(host + "/"):
                    return self.base_url + url[len(host):]
        return url


def error_answer(response: Response) -> ErrorAnswer:
    try:
        body = json.loads(response.text)
    except (TypeError, ValueError):
        body = None
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    asked = (response.headers or {}).get("Retry-After")
    retry_after = parse_retry_after(asked) if response.status_code == 429 else None
    # As the SDK reports it: an answer without Twilio's code has its HTTP status for one.
    return ErrorAnswer(response.status_code, code if isinstance(code, int) else response.status_code,
                       str(body.get("message") or "").strip(), retry_after)


def requests_failure(exc: OSError) -> RequestFailed:
    """A request that requests got no answer to, as RequestFailed: may it have reached the server?"""
    name = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout):
        return RequestFailed(name, sent=False, timed_out=True)
    if isinstance(exc, requests.Timeout):
        return RequestFailed(name, sent=True, timed_out=True)
    if not isinstance(exc, requests.RequestException) or isinstance(
            exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema | requests.exceptions.ProxyError):
        # Refused before a connection to Twilio was made: a CA bundle path that does not
        # exist, a proxy URL that does not parse, a proxy that cannot be reached.
        return RequestFailed(name, sent=False)
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate is checked in the handshake, before anything is sent; other TLS
        # errors may come later, once the request is out.
        return RequestFailed(name, sent=not _caused_by(exc, ssl.SSLCertVerificationError))
    # urllib3 says whether a connection was ever made; before one is, the request cannot
    # have been sent.
    return RequestFailed(name, sent=not _caused_by(exc, urllib3.exceptions.NewConnectionError))


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `exc` or an exception it was raised from or while handling is a `kind`."""
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        if isinstance(found, kind):
            return True
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return False


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
