"""The CLI's side of the HTTP API: one request per command, over http.client.

Whatever answers at the daemon's address is read as alarmd's JSON or refused in one
sentence: an answer that is not JSON here, one without the fields a verb prints in
alarmd.cli.shapes. HTTPS (alarmd.tls) trusts only the configured certificate.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode

from alarmd import __version__
from alarmd.config.apitoken import read_token, token_files
from alarmd.config.file import ClientSettings
from alarmd.errors import AlarmdError, DaemonUnavailable

TIMEOUT_SECONDS = 15
# More than any answer of alarmd's: something else streaming at the address is not read forever.
MAX_ANSWER_BYTES = 64 * 1024 * 1024


class ApiRefused(AlarmdError):
    """The daemon answered with an error; `status` is the HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, settings: ClientSettings):
        self.host, self.port = settings.connect_host, settings.listen_port
        self.base = settings.base_url
        self.settings = settings

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                query: dict[str, Any] | None = None, timeout: float = TIMEOUT_SECONDS) -> Any:
        token = read_token(self.settings)
        if not token:
            raise DaemonUnavailable(
                f"no API token found (looked in {', '.join(map(str, token_files(self.settings)))}); start the daemon "
                "once with `alarmd run`, or set ALARMD_API_TOKEN."
            )
        if any(ch in token for ch in "\r\n"):
            raise DaemonUnavailable("the API token contains a line break; check alarmd.apiToken.")
        target = path
        if query:
            target += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Connection": "close", "Accept": "application/json", "User-Agent": f"alarmd-cli/{__version__}",
                   "Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = self._connection(timeout)
        try:
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            status, payload = response.status, response.read(MAX_ANSWER_BYTES)
            promised = response.getheader("Content-Length", "")
        except (OSError, http.client.HTTPException) as exc:
            raise DaemonUnavailable(
                f"alarmd is not running at {self.base} ({_reason(exc)}); start it with "
                "`alarmd run` (or `systemctl start alarmd`)."
            ) from None
        finally:
            connection.close()
        if promised.isdigit() and len(payload) < min(int(promised), MAX_ANSWER_BYTES):
            raise self._not_json()  # the connection closed before all of it came
        if status >= 400:
            raise ApiRefused(status, _error_text(status, payload))
        try:
            return json.loads(payload or b"null")
        except ValueError:
            raise self._not_json() from None

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if not self.settings.tls_cert:
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        from alarmd.config.network import client_context

        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                           context=client_context(self.settings.tls_cert))

    def _not_json(self) -> DaemonUnavailable:
        return DaemonUnavailable(f"{self.base} answered something that is not alarmd's JSON.")


def _error_text(status: int, payload: bytes) -> str:
    try:
        answer = json.loads(payload)
        message = answer.get("error") if isinstance(answer, dict) else None
    except ValueError:
        message = None
    return str(message or f"the daemon answered HTTP {status}.")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the connection closed before an answer"
    if isinstance(exc, http.client.HTTPException):
        return "the answer is not HTTP"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
