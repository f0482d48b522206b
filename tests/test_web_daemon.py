"""The web page through a real daemon: `alarmd web` (a one-time link, a browser opened, every
session revoked), HTTPS with alarmd.tls, X-Forwarded-Proto from alarmd.trustProxy only, and
no plain listening beyond loopback.

The tests that need a daemon but no settings of their own share one (`served`), trusting
127.0.0.1 as its proxy; those that only check a refusal run the CLI in this process.
"""

from __future__ import annotations

import http.client
import os
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from alarmd.cli.commands import cli
from tests.conftest import Daemon, Home, require, wait_until

# The tests that share `served` run on one xdist worker, so one daemon serves them all.
SERVED = pytest.mark.xdist_group("web_daemon_served")


def get(port: int, path: str, headers: dict[str, str] | None = None,
        context: ssl.SSLContext | None = None) -> http.client.HTTPResponse:
    """One request, not following redirects; the answer is read and the connection closed."""
    connection = (http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10) if context
                  else http.client.HTTPConnection("127.0.0.1", port, timeout=10))
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        answer.read()
        return answer
    finally:
        connection.close()


def link_of(output: str) -> str:
    return next(line.strip() for line in output.splitlines() if "/login?code=" in line)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """One daemon, dry run, believing X-Forwarded-Proto from 127.0.0.1 (the tests' own address)."""
    home = Home.made_in(tmp_path_factory.mktemp("served"))
    home.write_config(trustProxy="127.0.0.1")
    daemon = Daemon(home)
    try:
        yield home
    finally:
        daemon.stop()


@pytest.mark.system
@SERVED
def test_alarmd_web_prints_a_one_time_link_that_signs_a_browser_in(served: Home) -> None:
    home = served
    home.cli("web", "--sign-out-all")  # the module's other tests may have signed in
    result = home.cli("web", "--no-browser")
    url = link_of(result.stdout)
    assert url.startswith(f"http://127.0.0.1:{home.port}/login?code=") and "10 minutes" in result.stdout
    path = url.split(str(home.port), 1)[1]
    first = get(home.port, path)
    assert first.status == 303 and first.getheader("location") == "/"
    assert "alarmd_session=" in (first.getheader("set-cookie") or "")
    assert get(home.port, path).status == 400  # once only
    cookie = first.getheader("set-cookie", "").split(";")[0]
    assert get(home.port, "/", {"Cookie": cookie}).status == 200

    out = home.cli("web", "--sign-out-all")
    assert out.stdout.strip() == "Signed out 1 web session; every browser must sign in again."
    assert get(home.port, "/", {"Cookie": cookie}).status == 303


@pytest.mark.system
@SERVED
def test_alarmd_web_opens_the_link_in_a_browser_when_there_is_a_display(served: Home, tmp_path: Path) -> None:
    home = served
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    result = home.cli("web", DISPLAY=":99", BROWSER=str(browser))
    wait_until(opened.exists)
    assert wait_until(lambda: opened.read_text().strip()) == link_of(result.stdout)
    # with no display (a server over SSH) nothing is started
    opened.unlink()
    home.cli("web", BROWSER=str(browser), DISPLAY="", WAYLAND_DISPLAY="")
    assert not opened.exists()


@pytest.mark.system
def test_alarmd_web_without_a_daemon_says_how_to_start_it(home: Home) -> None:
    home.write_config()
    result = home.cli("web", check=False)
    assert result.returncode == 1 and "alarmd is not running" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.system
def test_a_non_loopback_listen_needs_tls_or_a_named_proxy(home: Home) -> None:
    home.write_config(listen=f"0.0.0.0:{home.port}")
    result = home.cli("run", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "alarmd: alarmd.listen: 0.0.0.0 is not a loopback address; serve HTTPS (alarmd.tls.cert and key) or name "
        "the TLS proxy in front of alarmd (alarmd.trustProxy) before listening on it.")
    assert not home.db_path.exists()


@pytest.mark.parametrize(("config", "sentence"), [
    ({"tls": {"cert": "/nonexistent/cert.pem"}}, "alarmd.tls.key: missing"),
    ({"tls": {"cert": "/nonexistent/cert.pem", "key": "/nonexistent/key.pem"}}, "alarmd.tls.cert: /nonexistent"),
    ({"trustProxy": "the proxy"}, "alarmd.trustProxy: 'the proxy' is not an IP address"),
])
def test_a_bad_tls_or_proxy_setting_is_one_sentence(home: Home, config: dict[str, object], sentence: str) -> None:
    """`config check` reads the file and starts nothing: the CLI runs in this process."""
    home.write_config(**config)
    result = CliRunner().invoke(cli, ["config", "check"], env={"ALARMD_CONFIG": str(home.config_path)})
    assert result.exit_code == 2 and sentence in result.stderr and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def make_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=alarm.home.lan", "-addext", "subjectAltName=DNS:alarm.home.lan"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.mark.system
def test_with_alarmd_tls_the_daemon_speaks_https_and_the_cli_follows(home: Home, tmp_path: Path) -> None:
    require(os.path.exists("/usr/bin/openssl"), "openssl makes the test certificate")
    cert, key = make_cert(tmp_path)
    home.write_config(tls={"cert": str(cert), "key": str(key)})
    proc = subprocess.Popen([sys.executable, "-m", "alarmd", "run"], env=home.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN

        def healthy() -> bool:
            assert proc.poll() is None
            try:
                return get(home.port, "/healthz", context=context).status == 200
            except OSError:
                return False

        wait_until(healthy, 20)
        # plain HTTP is not spoken any more
        with pytest.raises((OSError, http.client.HTTPException)):
            get(home.port, "/healthz")
        assert home.cli("list").stdout.strip() == "0 alarms listed."
        url = link_of(home.cli("web", "--no-browser").stdout)
        assert url.startswith(f"https://127.0.0.1:{home.port}/login?code=")
        signed = get(home.port, url.split(str(home.port), 1)[1], context=context)
        assert signed.status == 303 and "secure" in (signed.getheader("set-cookie") or "").lower()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def signed_in_over_a_proxy(home: Home) -> http.client.HTTPResponse:
    """A one-time link opened by a client that says, as a TLS proxy would, that it came over HTTPS."""
    path = link_of(home.cli("web", "--no-browser").stdout).split(str(home.port), 1)[1]
    answer = get(home.port, path, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
    assert answer.status == 303
    return answer


@pytest.mark.system
@SERVED
def test_x_forwarded_proto_is_believed_from_the_named_proxy(served: Home) -> None:
    assert "secure" in (signed_in_over_a_proxy(served).getheader("set-cookie") or "").lower()


@pytest.mark.system
def test_x_forwarded_proto_is_not_believed_from_another_address(home: Home, start_daemon) -> None:
    home.write_config(trustProxy="10.9.9.9")
    start_daemon()
    assert "secure" not in (signed_in_over_a_proxy(home).getheader("set-cookie") or "").lower()


@pytest.mark.system
@SERVED
def test_the_daemon_serves_the_page_and_its_assets_beside_the_api(served: Home) -> None:
    home = served
    assert get(home.port, "/").getheader("location") == "/login"
    assert get(home.port, "/static/app.css").status == 200
    assert get(home.port, "/static/manifest.webmanifest").getheader("content-type") == "application/manifest+json"
    # API paths, unknown ones included, still answer as the API: 401 without the token.
    for path in ("/v1/alarms", "/v2/anything", "/docs"):
        assert get(home.port, path).status == 401, path
    assert get(home.port, "/healthz").status == 200
