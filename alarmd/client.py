"""The CLI's side of the HTTP API, on the standard library only (a CLI must start fast)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from alarmd.apitoken import read_token
from alarmd.config import ClientSettings
from alarmd.errors import AlarmdError, DaemonUnavailable

TIMEOUT_SECONDS = 15


class ApiRefused(AlarmdError):
    """The daemon answered with an error; `status` is the HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, settings: ClientSettings):
        host = settings.listen_host
        # A daemon listening on every address is reached on loopback.
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        self.base = f"http://{host}:{settings.listen_port}"
        self.settings = settings

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                query: dict[str, Any] | None = None, timeout: float = TIMEOUT_SECONDS) -> Any:
        token = read_token(self.settings)
        if not token:
            raise DaemonUnavailable(
                f"no API token found (looked in {self.settings.token_file}); start the daemon "
                "once with `alarmd run`, or set ALARMD_API_TOKEN."
            )
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiRefused(exc.code, _error_text(exc)) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DaemonUnavailable(
                f"alarmd is not running at {self.base} ({_reason(reason)}); start it with "
                "`alarmd run` (or `systemctl start alarmd`)."
            ) from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        message = body.get("error") if isinstance(body, dict) else None
    except (ValueError, OSError):
        message = None
    return str(message or f"the daemon answered HTTP {exc.code}.")


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason)
