"""The Twilio dialer's own HTTP client (alarmd.calls.dialers.direct_http), against real sockets.

Over TLS with a certificate made here (the CA bundle named as requests would take it),
on kept-alive connections that the server may close while idle, and failing in the ways
that tell whether a call may have been placed.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarmd.calls.dialers import make_dialer
from alarmd.calls.dialers.base import CallRequest, Dialer
from alarmd.config.settings import load_settings
from alarmd.errors import DialError
from tests.conftest import Home, free_port, require, twilio_block
from tests.twilio_standin import TwilioStandin

RING = CallRequest(to="+447700900123", twiml="<Response><Say>wake up</Say></Response>")
CREATED = b'{"sid": "CA%032d", "status": "queued"}'


def dialer_for(home: Home, base_url: str) -> Dialer:
    home.write_config(twilio_block(None, enabled=True, apiBaseURL=base_url))
    settings = load_settings(home.config_path, env=home.env())
    return make_dialer(settings.twilio, timeout=2)


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (its key beside it): the bundle that trusts it."""
    require(shutil.which("openssl"), "openssl is not installed")
    cert = tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert


@pytest.fixture
def tls_standin(certificate: Path) -> Iterator[TwilioStandin]:
    standin = TwilioStandin()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.parent / "key.pem")
    standin._server.socket = context.wrap_socket(standin._server.socket, server_side=True)
    with standin:
        yield standin


def test_a_call_goes_out_over_tls_to_a_server_the_configured_ca_bundle_trusts(
        home: Home, tls_standin: TwilioStandin, certificate: Path, monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    dialer = dialer_for(home, f"https://127.0.0.1:{tls_standin.port}")

    first, second = dialer.place_call(RING), dialer.place_call(RING)

    assert [r.sid for r in tls_standin.creates()] == [first.sid, second.sid]
    assert tls_standin.creates()[0].field("To") == "+447700900123"


def test_a_server_whose_certificate_is_not_trusted_is_not_sent_the_request(
        home: Home, tls_standin: TwilioStandin, monkeypatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    dialer = dialer_for(home, f"https://127.0.0.1:{tls_standin.port}")

    with pytest.raises(DialError) as refused:
        dialer.place_call(RING)

    # Refused before the request was written: no call can have been placed, so none is looked for.
    assert refused.value.message == "could not reach Twilio (SSLCertVerificationError)"
    assert refused.value.uncertain is False and tls_standin.requests == []


def test_nothing_listening_means_the_request_was_not_sent(home: Home) -> None:
    dialer = dialer_for(home, f"http://127.0.0.1:{free_port()}")

    with pytest.raises(DialError) as refused:
        dialer.place_call(RING)

    assert refused.value.message == "could not reach Twilio (ConnectionRefusedError)"
    assert refused.value.uncertain is False


class CountingServer:
    """Answers every request with a 201 on kept-alive connections and counts the connections;
    with close=True each connection is closed after its first answer, as a server whose
    keep-alive ran out closes it while it idles."""

    def __init__(self, close: bool) -> None:
        self.close_each = close
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.answered = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=[connection], daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    received = connection.recv(65536)
                    if not received:
                        return
                    pending += received
                head, _, pending = pending.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(pending) < length:
                    pending += connection.recv(65536)
                pending = pending[length:]
                self.answered += 1
                answer = CREATED % self.answered
                connection.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer))
                if self.close_each:
                    return

    def stop(self) -> None:
        self.listener.close()


def sid(number: int) -> str:
    return f"CA{number:032d}"


def test_a_kept_alive_connection_the_server_closed_meanwhile_is_not_used_again(home: Home) -> None:
    server = CountingServer(close=True)
    try:
        dialer = dialer_for(home, f"http://127.0.0.1:{server.port}")
        first = dialer.place_call(RING)
        time.sleep(0.2)  # the server's close reaches this end
        second = dialer.place_call(RING)
    finally:
        server.stop()

    # Sent on the closed connection, the second request would have failed as "uncertain".
    assert (first.sid, second.sid) == (sid(1), sid(2))
    assert server.connections == 2


def test_calls_one_after_another_share_one_kept_alive_connection(home: Home) -> None:
    server = CountingServer(close=False)
    try:
        dialer = dialer_for(home, f"http://127.0.0.1:{server.port}")
        placed = [dialer.place_call(RING).sid for _ in range(3)]
    finally:
        server.stop()

    assert placed == [sid(1), sid(2), sid(3)]
    assert server.connections == 1
