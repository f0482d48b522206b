"""Which HTTP client the Twilio dialer sends with, chosen once from the environment.

requests reads the proxy and CA-bundle variables (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE,
CURL_CA_BUNDLE) on every request: about a millisecond, spent at the very instant a call
is due. They are read once here instead, with requests' own rules, for the one host the
dialer talks to. With no proxy for it, requests go straight out over http.client
(alarmd.calls.dialers.direct_http); through a proxy they go by requests, whose proxy
handling (CONNECT, credentials, SOCKS) is kept as it was.
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy
from twilio.http.response import Response

from alarmd.calls.dialers.direct_http import POOL_SIZE, DirectHttpClient, RequestFailed

JSON_TYPES = ("application/json", "application/scim+json")


def http_client_for(base_url: str, timeout: float) -> DirectHttpClient:
    """The client for requests to `base_url`, with the environment's settings as they are now."""
    session = requests.Session()
    found = session.merge_environment_settings(base_url, {}, None, None, None)
    verify = found["verify"]
    if select_proxy(base_url, found["proxies"]) is None:
        return DirectHttpClient(timeout, verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH)
    for scheme in ("https://", "http://"):
        session.mount(scheme, HTTPAdapter(pool_maxsize=POOL_SIZE))
    session.proxies.update(found["proxies"])
    session.verify = verify
    session.trust_env = False
    return ProxiedHttpClient(timeout, session)


class ProxiedHttpClient(DirectHttpClient):
    """Requests sent by requests, through the proxy the environment named at start."""

    def __init__(self, timeout: float, session: requests.Session):
        super().__init__(timeout)
        self._session = session

    def _send(self, method: str, url: str, params: dict[str, object] | None, data: dict[str, object] | None,
              headers: dict[str, str], auth: tuple[str, str] | None, timeout: float) -> Response:
        sent: dict[str, Any] = {"json" if headers.get("Content-Type") in JSON_TYPES else "data": data,
                                "params": params}
        try:
            answer = self._session.request(method, url, headers=headers, auth=auth, timeout=timeout,
                                           allow_redirects=False, **sent)
        except requests.RequestException as exc:
            raise requests_failure(exc) from None
        return Response(answer.status_code, answer.text, answer.headers)


def requests_failure(exc: requests.RequestException) -> RequestFailed:
    """A request that requests got no answer to, as RequestFailed: may it have reached the server?"""
    name = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout):
        return RequestFailed(name, sent=False, timed_out=True)
    if isinstance(exc, requests.Timeout):
        return RequestFailed(name, sent=True, timed_out=True)
    # requests wraps urllib3's MaxRetryError, whose reason says whether a connection
    # was ever made; before one is, the request cannot have been sent.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    refused = isinstance(exc, requests.ConnectionError) and isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError)
    return RequestFailed(name, sent=not refused)
