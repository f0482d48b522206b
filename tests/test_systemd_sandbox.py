"""The daemon's whole path under the unit's SystemCallFilter=, RestrictAddressFamilies= and MDWE.

No systemd runs here, so tests/sandbox.py applies the same kernel mechanisms (seccomp
via libseccomp, PR_SET_MDWE) with the syscall sets that systemd-analyze lists for the
unit's filter. The daemon starts, tells a notify socket READY=1, rings an alarm through
the twilio SDK and the stand-in, answers the CLI, reloads its config when ExecReload='s
`alarmd config reload` asks, and stops on SIGTERM, all confined.
"""

from __future__ import annotations

import functools
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import sandbox
from tests.conftest import Home, require, spawn, twilio_block, wait_until
from tests.test_systemd_unit import UNIT, directives
from tests.twilio_standin import TwilioStandin

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parent.parent
ANALYZE = shutil.which("systemd-analyze")


@functools.cache
def mdwe_supported() -> bool:
    return sandbox.mdwe_supported()


@pytest.fixture(autouse=True)
def needs_what_the_sandbox_uses() -> None:
    require(ANALYZE is not None, "systemd-analyze is not installed (Debian package: systemd)")
    require(sandbox.libseccomp() is not None, "libseccomp is not installed (Debian: libseccomp2)")
    # CI's machines have it (Linux 6.3+), like the machines this suite is run on.
    require(mdwe_supported(), "this kernel has no PR_SET_MDWE (Linux 6.3+)")


@pytest.fixture
def allowed_syscalls(tmp_path: Path) -> Path:
    """The unit's filter as a list of calls: exactly its SystemCallFilter= lines, expanded."""
    assert ANALYZE is not None
    filters = directives(UNIT.read_text())["SystemCallFilter"]
    assert filters == ["@system-service", "~@privileged @resources"], "update the emulation below"
    listing = subprocess.run([ANALYZE, "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups = sandbox.syscall_groups(listing)
    allowed = sandbox.expand(groups, "@system-service") - sandbox.expand(groups, "@privileged") \
        - sandbox.expand(groups, "@resources")
    assert {"sendto", "connect", "execve", "mmap"} <= allowed and "setuid" not in allowed
    path = tmp_path / "allowed-syscalls"
    path.write_text("\n".join(sorted(allowed)))
    return path


def confined(allowed: Path, *command: str) -> list[str]:
    families = directives(UNIT.read_text())["RestrictAddressFamilies"]
    assert len(families) == 1 and not families[0].startswith("~")
    return [sys.executable, "-m", "tests.sandbox", str(allowed), ",".join(families[0].split()), "--",
            sys.executable, *command]


@pytest.mark.parametrize("code", [
    # Writable+executable memory: what MemoryDenyWriteExecute= forbids.
    "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)",
    # setuid is in @privileged, sched_setaffinity in @resources: both taken out by the unit.
    "import os; os.setuid(os.getuid())",
    "import os; os.sched_setaffinity(0, os.sched_getaffinity(0))",
    # Netlink is not among RestrictAddressFamilies=.
    "import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)",
])
def test_the_sandbox_really_confines(allowed_syscalls: Path, code: str) -> None:
    free = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert free.returncode == 0, free.stderr
    result = subprocess.run(confined(allowed_syscalls, "-c", code), cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "PermissionError" in result.stderr, result.stderr


def test_the_daemon_works_under_the_units_syscall_filter_and_mdwe(
    home: Home, standin: TwilioStandin, allowed_syscalls: Path
) -> None:
    # A host name, so the twilio SDK resolves it as it would api.twilio.com.
    home.write_config(twilio_block(standin, apiBaseURL=standin.url.replace("127.0.0.1", "localhost")))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"alarmd-sandbox-{uuid.uuid4().hex}"
    notify.bind(b"\0" + name.encode())
    notify.settimeout(30)
    log_path = home.root / "sandboxed.log"
    with log_path.open("w") as log:
        proc = spawn(confined(allowed_syscalls, "-m", "alarmd", "run"), cwd=REPO,
                     env=home.env(NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="1000000"),
                     stdout=log, stderr=subprocess.STDOUT)
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        with urllib.request.urlopen(f"http://127.0.0.1:{home.port}/healthz", timeout=5) as response:
            assert json.load(response)["status"] == "ok"

        when = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        home.cli("add", "--at", when, "--to", "MOBILE", "--name", "confined")
        standin.wait_for_creates(1, timeout=15)
        # The SID is written as soon as the stand-in's answer is in.
        calls = wait_until(lambda: (found := home.cli_json("history")) and found[0]["attempts"]
                           and found[0]["attempts"][0]["sid"] and found)
        # Accepted, then answered once the call is followed (the stand-in completes it).
        assert calls[0]["status"] in ("accepted", "answered")
        assert calls[0]["attempts"][0]["sid"].startswith("CA")

        # ExecReload= runs `alarmd config reload` under the same filter; the daemon reloads confined.
        # Read what the daemon sends meanwhile, as systemd does: a full queue would block its
        # sd_notify (the kernel queues ten datagrams), and the pings add up while the test waits.
        messages: list[bytes] = []
        reader = threading.Thread(target=_drain, args=(notify, messages), daemon=True)
        reader.start()
        reload = subprocess.run(confined(allowed_syscalls, "-m", "alarmd", "config", "reload"), cwd=REPO,
                                env=home.env(), capture_output=True, text=True, timeout=60)
        assert reload.returncode == 0 and reload.stdout.startswith("Reloaded "), reload.stderr
        wait_until(lambda: any(b"READY=1" in m for m in messages[next(
            (i for i, m in enumerate(messages) if b"RELOADING=1" in m), len(messages)):]))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        notify.close()
    text = log_path.read_text()
    assert proc.returncode == 0, text
    assert "Traceback" not in text and "not permitted" not in text, text


def _drain(sock: socket.socket, into: list[bytes]) -> None:
    while True:
        try:
            into.append(sock.recv(4096))
        except OSError:  # closed at the end of the test (or its 30 s timeout)
            return
