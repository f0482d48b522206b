"""The CLI's side of the HTTP API, on a plain socket (a CLI must start fast).

Why not urllib.request: importing it pulls in http.client, email, ssl and tempfile,
about a third of the 150 ms a command may take. The daemon is on loopback, speaks
HTTP/1.1 and answers JSON with a Content-Length, so one request per connection over a
socket is all the CLI needs. The socket is _socket's, the C module under `socket`:
the Python module adds enums and selectors a CLI does not use, and importing it is
about a twentieth of what a verb costs. TLS (alarmd.tls) wants the `socket` one.
"""

from __future__ import annotations

import _socket
import json
from typing import Any
from urllib.parse import urlencode  # pathlib imports urllib.parse anyway

from alarmd import __version__
from alarmd.config.apitoken import read_token, token_files
from alarmd.config.file import ClientSettings
from alarmd.errors import AlarmdError, DaemonUnavailable

TIMEOUT_SECONDS = 15
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
        self.host_header = self.base.partition("://")[2]
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
        data = json.dumps(body).encode() if body is not None else None
        try:
            status, payload = self._exchange(method, target, token, data, timeout)
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise DaemonUnavailable(
                f"alarmd is not running at {self.base} ({_reason(exc)}); start it with "
                "`alarmd run` (or `systemctl start alarmd`)."
            ) from None
        if status >= 400:
            raise ApiRefused(status, _error_text(status, payload))
        try:
            return json.loads(payload or b"null")
        except ValueError:
            raise DaemonUnavailable(f"{self.base} answered something that is not alarmd's JSON.") from None

    def _exchange(self, method: str, target: str, token: str, data: bytes | None,
                  timeout: float) -> tuple[int, bytes]:
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}", "Connection: close",
                "Accept: application/json", f"User-Agent: alarmd-cli/{__version__}",
                f"Authorization: Bearer {token}"]
        if data is not None:
            head.append("Content-Type: application/json")
        if data is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(data or b'')}")
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (data or b"")
        if not self.settings.tls_cert:
            plain = _connect(self.host, self.port, timeout, _socket.socket)
            try:
                plain.sendall(message)
                return _read_answer(plain)
            finally:
                plain.close()
        # Only with alarmd.tls: ssl is a noticeable part of a command's start.
        import socket

        from alarmd.config.network import client_context

        with client_context(self.settings.tls_cert).wrap_socket(
                _connect(self.host, self.port, timeout, socket.socket)) as sock:
            sock.sendall(message)
            return _read_answer(sock)


def _connect(host: str, port: int, timeout: float, make: Any) -> Any:
    """socket.create_connection, but resolving a bytes host: a str one makes the socket
    module import the idna codec, about 5 ms of a CLI's start."""
    error: OSError = ConnectionRefusedError("no address to connect to")
    name = host.encode() if host.isascii() else host.encode("idna")
    for family, kind, proto, _, address in _socket.getaddrinfo(name, port, type=_socket.SOCK_STREAM):
        sock = make(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def _read_answer(sock: Any) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 answer (Content-Length, chunked, or until close)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the connection closed before an answer")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(status_line.split(" ", 2)[1])
    except (IndexError, ValueError):
        raise ConnectionError("the answer is not HTTP") from None
    headers = {name.strip().lower(): value.strip()
               for name, _, value in (line.partition(":") for line in header_lines)}
    length = headers.get("content-length")
    chunked = headers.get("transfer-encoding", "").lower() == "chunked"
    while (length is None or len(body) < int(length)) and len(body) < MAX_ANSWER_BYTES:
        if chunked and body.endswith(b"0\r\n\r\n"):
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    if chunked:
        return status, _dechunk(body)
    return status, body[: int(length)] if length is not None else body


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out


def _error_text(status: int, payload: bytes) -> str:
    try:
        answer = json.loads(payload)
        message = answer.get("error") if isinstance(answer, dict) else None
    except ValueError:
        message = None
    return str(message or f"the daemon answered HTTP {status}.")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
