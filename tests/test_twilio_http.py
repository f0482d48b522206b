"""The Twilio dialer's requests on the SDK's own HTTP client (requests), against real sockets.

Over TLS with certificates made here (trusted through REQUESTS_CA_BUNDLE, as requests
takes it), through a proxy, and failing in the ways that tell whether a call may have
been placed. What the environment gets wrong is said once at start, not at 07:00.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarmd.calls.dialers import make_dialer
from alarmd.calls.dialers.base import CallRequest, Dialer
from alarmd.calls.dialers.environment import environment_problems
from alarmd.calls.dialers.twilio_http import TwilioApiHttpClient
from alarmd.config.settings import load_settings
from alarmd.errors import DialError
from tests.conftest import Home, free_port, require, twilio_block
from tests.twilio_standin import Answer, TwilioStandin, rate_limited, server_error

RING = CallRequest(to="+447700900123", twiml="<Response><Say>wake up</Say></Response>")
CREATED = b'{"sid": "CA%032d", "status": "queued"}'


def dialer_for(home: Home, base_url: str, timeout: float = 2) -> Dialer:
    home.write_config(twilio_block(None, enabled=True, apiBaseURL=base_url))
    settings = load_settings(home.config_path, env=home.env())
    return make_dialer(settings.twilio, timeout=timeout)


def refusal(dialer: Dialer) -> DialError:
    with pytest.raises(DialError) as refused:
        dialer.place_call(RING)
    return refused.value


def certificate(directory: Path, *extensions: str) -> Path:
    """A self-signed certificate for 127.0.0.1 (its key beside it): the bundle that trusts it."""
    require(shutil.which("openssl"), "openssl is not installed")
    cert = directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", *extensions, "-keyout", str(directory / "key.pem"), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert


def serve_tls(standin: TwilioStandin, cert: Path) -> TwilioStandin:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, cert.parent / "key.pem")
    standin._server.socket = context.wrap_socket(standin._server.socket, server_side=True)
    return standin.start()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[TwilioStandin, Path]]:
    """A stand-in over TLS, its certificate naming 127.0.0.1 in its subjectAltName as browsers and requests ask."""
    cert = certificate(tmp_path, "-addext", "subjectAltName=IP:127.0.0.1")
    standin = serve_tls(TwilioStandin(), cert)
    yield standin, cert
    standin.stop()


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CA bundle or proxy from the machine the tests run on: each test sets its own."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.system
def test_a_call_goes_out_over_tls_to_a_server_the_configured_ca_bundle_trusts(
        home: Home, tls_server: tuple[TwilioStandin, Path], monkeypatch) -> None:
    standin, cert = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    dialer = dialer_for(home, f"https://127.0.0.1:{standin.port}")

    first, second = dialer.place_call(RING), dialer.place_call(RING)

    assert [r.sid for r in standin.creates()] == [first.sid, second.sid]
    assert standin.creates()[0].field("To") == "+447700900123"


@pytest.mark.system
def test_a_server_whose_certificate_is_not_trusted_is_not_sent_the_request(
        home: Home, tls_server: tuple[TwilioStandin, Path]) -> None:
    standin, _ = tls_server
    refused = refusal(dialer_for(home, f"https://127.0.0.1:{standin.port}"))

    # Refused before the request was written: no call can have been placed, so none is looked for.
    assert refused.message == "could not reach Twilio (SSLError)"
    assert refused.uncertain is False and standin.requests == []


@pytest.mark.system
def test_a_certificate_that_names_the_host_only_in_its_common_name_is_refused(
        home: Home, tmp_path: Path, monkeypatch) -> None:
    # Trusted, and right but for where it names the host: requests checks subjectAltName only.
    cert = certificate(tmp_path)
    standin = serve_tls(TwilioStandin(), cert)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    try:
        refused = refusal(dialer_for(home, f"https://127.0.0.1:{standin.port}"))
    finally:
        standin.stop()

    assert refused.message == "could not reach Twilio (SSLError)"
    assert refused.uncertain is False and standin.requests == []


def test_a_ca_bundle_that_does_not_exist_fails_the_request_unsent(home: Home, standin, monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(home.root / "no-such-bundle.pem"))
    refused = refusal(dialer_for(home, f"https://127.0.0.1:{standin.port}"))

    assert refused.message == "could not reach Twilio (OSError)"
    assert refused.uncertain is False and standin.requests == []


def test_nothing_listening_means_the_request_was_not_sent(home: Home) -> None:
    refused = refusal(dialer_for(home, f"http://127.0.0.1:{free_port()}"))

    assert refused.message == "could not reach Twilio (ConnectionError)"
    assert refused.uncertain is False


@pytest.mark.system
def test_no_answer_in_time_is_uncertain(home: Home, standin: TwilioStandin) -> None:
    standin.create_script.append(Answer(201, None, delay=1.5))  # placed; its answer comes too late
    refused = refusal(dialer_for(home, standin.url, timeout=0.5))

    assert refused.message == "Twilio did not answer within 0.5 s"
    assert refused.uncertain is True and len(standin.placed()) == 1


def test_a_connection_dropped_before_the_answer_is_uncertain(home: Home, standin: TwilioStandin) -> None:
    standin.create_script.append(Answer(201, None, drop=True))
    refused = refusal(dialer_for(home, standin.url))

    assert refused.message == "the connection to Twilio broke (ConnectionError)"
    assert refused.uncertain is True and len(standin.placed()) == 1


def test_a_5xx_is_uncertain_and_keeps_twilios_words(home: Home, standin: TwilioStandin) -> None:
    standin.create_script.append(server_error())
    refused = refusal(dialer_for(home, standin.url))

    assert refused.message == "Twilio failed: Unable to create record: An internal server error has occurred (20500)"
    assert (refused.code, refused.uncertain, refused.permanent) == (20500, True, False)


def test_a_20429_carries_its_retry_after_whatever_was_asked(home: Home, standin: TwilioStandin) -> None:
    dialer = dialer_for(home, standin.url)
    sid = dialer.place_call(RING).sid
    assert sid is not None
    standin.create_script.append(rate_limited(retry_after="1.5"))
    standin.fetch_script.append(rate_limited(retry_after="2"))
    standin.list_script.append(rate_limited(retry_after="3"))
    standin.update_script.append(rate_limited())

    refused = [_refusal(lambda: dialer.place_call(RING)), _refusal(lambda: dialer.fetch_call(sid)),
               _refusal(lambda: dialer.recent_calls(RING.to)), _refusal(lambda: dialer.cancel_call(sid))]

    assert [r.retry_after for r in refused] == [1.5, 2.0, 3.0, None]
    assert {r.message for r in refused} == {"Twilio refused: Twilio is rate limiting this account (20429)"}
    assert {(r.code, r.permanent, r.uncertain) for r in refused} == {(20429, False, False)}


def _refusal(send) -> DialError:
    with pytest.raises(DialError) as refused:
        send()
    return refused.value


def test_the_proxy_the_environment_names_carries_the_requests(home, standin, monkeypatch) -> None:
    monkeypatch.setenv("http_proxy", standin.url)
    dialer = dialer_for(home, "http://api.twilio.invalid")

    placed = dialer.place_call(RING)

    (post,) = standin.creates()
    assert post.proxied_for == "api.twilio.invalid" and placed.sid == post.sid


def test_the_api_base_url_stands_for_twilios_hosts_and_keeps_its_path() -> None:
    client = TwilioApiHttpClient(2, "http://127.0.0.1:8080/twilio/")

    assert client.address("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json") == (
        "http://127.0.0.1:8080/twilio/2010-04-01/Accounts/AC1/Calls.json")
    assert client.address("https://studio.twilio.com/v2/Flows") == "http://127.0.0.1:8080/twilio/v2/Flows"
    assert client.address("https://api.twilio.com.example/x") == "https://api.twilio.com.example/x"
    assert TwilioApiHttpClient(2).address("https://api.twilio.com/x") == "https://api.twilio.com/x"


class CountingServer:
    """Answers every request with a 201 on kept-alive connections, and counts the connections."""

    def __init__(self) -> None:
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

    def stop(self) -> None:
        self.listener.close()


def test_each_thread_keeps_its_own_connection_for_its_next_call(home: Home) -> None:
    # requests' Session is not documented as safe to share between threads: each has its own.
    server = CountingServer()
    try:
        dialer = dialer_for(home, f"http://127.0.0.1:{server.port}")
        placed: list[str | None] = []

        def two_calls() -> None:
            placed.extend(dialer.place_call(RING).sid for _ in range(2))

        for _ in range(2):
            thread = threading.Thread(target=two_calls)
            thread.start()
            thread.join(10)
    finally:
        server.stop()

    assert placed == [f"CA{n:032d}" for n in range(1, 5)]
    assert server.connections == 2


# --- the environment, judged at start ----------------------------------------------------


def test_environment_problems_are_what_requests_could_not_use(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    missing = str(tmp_path / "nope.pem")

    assert environment_problems({"REQUESTS_CA_BUNDLE": str(bundle), "HTTPS_PROXY": "proxy.example:3128",
                                 "http_proxy": "http://user:secret@proxy.example:3128", "ALL_PROXY": ""}) == []
    # requests takes REQUESTS_CA_BUNDLE first and looks no further.
    assert environment_problems({"REQUESTS_CA_BUNDLE": str(bundle), "CURL_CA_BUNDLE": missing}) == []
    assert environment_problems({"CURL_CA_BUNDLE": missing}) == [
        f"CURL_CA_BUNDLE names {missing}, which does not exist, so no request to Twilio can be made; point it at "
        "a CA bundle (a file or a directory) or unset it."]
    # Without "http://", "localhost:3128" reads as the scheme "localhost" with no host, to requests too.
    for value in ("http://", "localhost:3128", "http://proxy.example:port", "ftp://proxy.example:21"):
        assert environment_problems({"https_proxy": value}) == [
            "https_proxy is not a proxy URL (one needs a host, as in http://proxy.example:3128), so requests to "
            "Twilio through it fail; correct it or unset it."], value


@pytest.mark.system
def test_config_check_says_what_the_environment_gets_wrong(home: Home) -> None:
    home.write_config(twilio_block(None))
    missing = str(home.root / "nope.pem")

    result = home.cli("config", "check", check=False, REQUESTS_CA_BUNDLE=missing, HTTPS_PROXY="http://")

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{home.config_path}: OK")
    assert result.stderr.splitlines() == [
        f"alarmd: REQUESTS_CA_BUNDLE names {missing}, which does not exist, so no request to Twilio can be made; "
        "point it at a CA bundle (a file or a directory) or unset it.",
        "alarmd: HTTPS_PROXY is not a proxy URL (one needs a host, as in http://proxy.example:3128), so requests "
        "to Twilio through it fail; correct it or unset it."]


@pytest.mark.system
def test_the_daemon_says_at_start_what_the_environment_gets_wrong(home: Home, standin, start_daemon) -> None:
    home.write_config(twilio_block(standin))
    missing = str(home.root / "nope.pem")

    log = start_daemon(REQUESTS_CA_BUNDLE=missing).log()

    assert f"REQUESTS_CA_BUNDLE names {missing}, which does not exist" in log
    assert "Traceback" not in log
