"""A wall-clock step while the daemon runs: logged, and every job set again from the database.

The daemon runs as `alarmd run` does, with time-machine moving its wall clock (not its
monotonic clock, as a real step leaves it) on SIGUSR1 (one hour forward) and SIGUSR2
(one hour back). Without the watch, a step back stops the interval jobs, the watchdog's
pings among them (systemd would kill the service 30 s later), and a step forward is
seen only when some job next wakes the scheduler.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alarmd.daemon.clockwatch import ClockWatch, step_text
from tests.conftest import Home, spawn, twilio_block, wait_until

STEPPING_DAEMON = """
import signal, sys, time
import time_machine
from alarmd.cli.entry import main

moved = time_machine.travel(time.time(), tick=True).start()
signal.signal(signal.SIGUSR1, lambda *_: moved.shift(3600))
signal.signal(signal.SIGUSR2, lambda *_: moved.shift(-3600))
sys.argv = ["alarmd", "run"]
main()
"""


@pytest.mark.system
def test_a_step_forward_rings_what_fell_due_and_a_step_back_keeps_the_watchdog_fed(home: Home) -> None:
    home.write_config(twilio_block(None))
    with tempfile.TemporaryDirectory(prefix="sdn") as short:
        pings: list[float] = []
        ready = threading.Event()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(os.path.join(short, "notify"))

        def listen() -> None:
            while True:
                try:
                    data = sock.recv(4096)
                except OSError:
                    return
                if b"WATCHDOG=1" in data:
                    pings.append(time.monotonic())
                if b"READY=1" in data:
                    ready.set()

        threading.Thread(target=listen, daemon=True).start()
        log_path = home.root / "stepping.log"
        with log_path.open("w") as log:
            proc = spawn([sys.executable, "-c", STEPPING_DAEMON], stdout=log, stderr=subprocess.STDOUT,
                         env=home.env(NOTIFY_SOCKET=os.path.join(short, "notify"), WATCHDOG_USEC="400000"))
        try:
            # READY=1, not the first pings: the watchdog job starts before the API listens,
            # and on a loaded machine the `add` below could otherwise find no daemon.
            assert ready.wait(30), log_path.read_text()
            wait_until(lambda: len(pings) >= 2, timeout=20)
            # Due an hour and a few seconds from now: after the step, a few seconds from then.
            due = (datetime.now(UTC) + timedelta(hours=1, seconds=2)).isoformat()
            home.cli("add", "--to", "MOBILE", "--at", due, "--name", "after-the-step")
            proc.send_signal(signal.SIGUSR1)
            wait_until(lambda: "occurrence 1 (MOBILE (+44 7700 900123)): dry-run" in log_path.read_text(), timeout=15)
            assert [(c["alarm_name"], c["status"]) for c in home.cli_json("history")] == [("after-the-step", "dry-run")]
            assert "the wall clock stepped forward by 1 h 0 min; every alarm's job is set again" in log_path.read_text()

            proc.send_signal(signal.SIGUSR2)
            wait_until(lambda: "the wall clock stepped back by 1 h 0 min" in log_path.read_text())
            after = time.monotonic()
            wait_until(lambda: len([p for p in pings if p > after + 0.5]) >= 3, timeout=5)
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
            sock.close()
    assert proc.returncode == 0
    assert "Traceback" not in log_path.read_text()


def test_the_watch_ignores_a_clock_that_runs_and_reports_a_step() -> None:
    steps: list[int] = []
    with time_machine.travel(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), tick=True) as moved:
        watch = ClockWatch(lambda: steps.append(1))
        assert watch.check() is None
        moved.shift(59)  # NTP nudging the clock: under the threshold
        assert watch.check() is None
        moved.shift(-3 * 3600)
        step = watch.check()
        assert step is not None and round(step) == -10_800
        assert steps == [1]
        assert watch.check() is None  # measured from the new time on
    assert step_text(3600) == "forward by 1 h 0 min"
    assert step_text(-61) == "back by 1 min 1 s"

