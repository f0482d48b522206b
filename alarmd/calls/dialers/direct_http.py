"""The twilio SDK's HTTP client interface over http.client, on kept-alive connections.

At a call's due instant only its request is left to do, and the SDK's own client
(requests over urllib3) spent about a millisecond of the interpreter building it before
the first byte left: more than everything else between the due instant and the POST
(bench/fire_latency.py, traced). This client writes the same request in about a tenth
of that. Everything else stays the SDK's: URLs, auth, headers, answer parsing, errors.

A request that got no answer raises RequestFailed, which says whether it may have reached
Twilio (alarmd.calls.dialers.twilio decides from that whether a call may have been placed).

The SDK turns an error answer into TwilioRestException without its headers, so the
Retry-After that Twilio may send with a 429 (error 20429, too many requests at once)
would be lost. This client remembers it per thread: every delivery thread shares one
client, and the exception is raised on the thread whose request got the answer.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import select
import socket
import ssl
import threading
import weakref
from base64 import b64encode
from urllib.parse import urlencode, urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response

# Idle connections kept per host: with many alarms due at once, each delivery thread
# takes one, and a smaller pool would open (and throw away) a new one for most of them.
POOL_SIZE = 128
# A Retry-After longer than this is not believed as such (a typo, a date misread); the
# caller's own grace window bounds the wait in any case.
MAX_RETRY_AFTER_SECONDS = 3600.0


class RequestFailed(Exception):
    """No answer. `sent`: the request may have reached Twilio; `timed_out`: it ran out of time."""

    def __init__(self, reason: str, sent: bool, timed_out: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.sent = sent
        self.timed_out = timed_out


class DirectHttpClient(HttpClient):  # type: ignore[misc]  # the SDK is untyped here
    def __init__(self, timeout: float, cafile: str | None = None):
        super().__init__(logging.getLogger("twilio.http_client"), False, timeout)
        self._cafile = cafile
        self._context: ssl.SSLContext | None = None  # made on the first https request
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._asked = threading.local()
        # The idle connections are closed with the client, not left to the garbage collector.
        weakref.finalize(self, _close_all, self._idle)

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        # allow_redirects: Twilio's API does not redirect, and the SDK asks for none.
        self._asked.seconds = None
        response = self._send(method.upper(), url, params, data, headers or {}, auth,
                              self.timeout if timeout is None else timeout)
        if response.status_code == 429:
            self._asked.seconds = parse_retry_after((response.headers or {}).get("Retry-After"))
        return response

    def retry_after(self) -> float | None:
        """What the last answer on this thread asked to wait, in seconds; None if nothing."""
        seconds: float | None = getattr(self._asked, "seconds", None)
        return seconds

    def _send(self, method: str, url: str, params: dict[str, object] | None, data: dict[str, object] | None,
              headers: dict[str, str], auth: tuple[str, str] | None, timeout: float) -> Response:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if parts.query else "?") + _form(params)
        sent = dict(headers)
        if auth is not None:
            sent["Authorization"] = "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        body = None
        if data is not None:
            json_body = sent.get("Content-Type") in ("application/json", "application/scim+json")
            body = (json.dumps(data) if json_body else _form(data)).encode()
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        connection = self._take(key, timeout)
        try:
            connection.request(method, target, body, sent)
            answer = connection.getresponse()
            content = answer.read()
        except TimeoutError:
            connection.close()
            raise RequestFailed("ReadTimeout", sent=True, timed_out=True) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise RequestFailed(type(exc).__name__, sent=True) from None
        if answer.will_close:
            connection.close()
        else:
            self._give_back(key, connection)
        text = content.decode(answer.headers.get_content_charset() or "utf-8", errors="replace")
        return Response(answer.status, text, answer.headers)

    def _take(self, key: tuple[str, str, int], timeout: float) -> http.client.HTTPConnection:
        """A kept-alive connection to the host still open, else a new one (RequestFailed: none could be made)."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                connection = idle.pop() if idle else None
            if connection is None:
                return self._connect(key, timeout)
            if connection.sock is not None and not _closed_by_peer(connection.sock):
                connection.sock.settimeout(timeout)
                return connection
            connection.close()

    def _connect(self, key: tuple[str, str, int], timeout: float) -> http.client.HTTPConnection:
        scheme, host, port = key
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._tls())
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError:
            connection.close()
            raise RequestFailed("ConnectTimeout", sent=False, timed_out=True) from None
        except OSError as exc:  # refused, unreachable, no such host, a TLS handshake that failed
            connection.close()
            raise RequestFailed(type(exc).__name__, sent=False) from None
        assert connection.sock is not None
        # Headers and body go out in two writes; Nagle would hold the second for an ACK.
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _give_back(self, key: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < POOL_SIZE:
                idle.append(connection)
                return
        connection.close()

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                # As requests takes its CA bundle setting: a file or a directory of certificates.
                directory = self._cafile is not None and os.path.isdir(self._cafile)
                self._context = ssl.create_default_context(cafile=None if directory else self._cafile,
                                                           capath=self._cafile if directory else None)
            return self._context


def _close_all(idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]]) -> None:
    for connections in list(idle.values()):
        for connection in connections:
            connection.close()


def _form(fields: dict[str, object]) -> str:
    # As requests encodes a form: a list is the field repeated, None leaves the field out.
    pairs = [(name, item) for name, value in fields.items()
             for item in (value if isinstance(value, list | tuple) else [value]) if item is not None]
    return urlencode(pairs)


def _closed_by_peer(sock: socket.socket) -> bool:
    """Whether an idle kept-alive connection is readable: the server closed it (or sent what
    nobody asked for), so a request on it would fail. poll, not select: any fd number."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


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
