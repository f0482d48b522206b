"""What systemd would see over $NOTIFY_SOCKET: time to READY=1 and the watchdog ping period.

    python bench/notify.py [--runs 10] [--watchdog-usec 400000] [--seconds 10]

Each run starts `alarmd run` on a new database with NOTIFY_SOCKET pointing at an
AF_UNIX datagram socket bound here, and times exec -> READY=1. One more run then
collects WATCHDOG=1 pings for --seconds and reports the gaps between them (systemd
restarts the service if one gap reaches WATCHDOG_USEC).
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import free_port


def start(home: Path, notify_path: str, watchdog_usec: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALARMD_", "TWILIO_")) and k not in ("JOURNAL_STREAM", "NOTIFY_SOCKET")}
    env.update(HOME=str(home), ALARMD_LISTEN=f"127.0.0.1:{free_port()}", NOTIFY_SOCKET=notify_path,
               WATCHDOG_USEC=str(watchdog_usec))
    return subprocess.Popen([sys.executable, "-m", "alarmd", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def until(sock: socket.socket, field: bytes, deadline: float) -> float:
    while True:
        sock.settimeout(max(deadline - time.perf_counter(), 0.001))
        if field in sock.recv(4096).split(b"\n"):
            return time.perf_counter()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--watchdog-usec", type=int, default=400_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="abn") as tmp:
        path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        ready_ms = []
        for i in range(args.runs + 1):
            began = time.perf_counter()
            proc = start(Path(tmp) / f"home{i}", path, args.watchdog_usec)
            try:
                ready_ms.append((until(sock, b"READY=1", began + 60) - began) * 1000)
                if i < args.runs:
                    continue
                pings: list[float] = []
                end = time.perf_counter() + args.seconds
                while time.perf_counter() < end:
                    pings.append(until(sock, b"WATCHDOG=1", end + 5))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(pings)]
    print(f"exec -> READY=1, {len(ready_ms)} runs (new database): median {statistics.median(ready_ms):.0f} ms, "
          f"p90 {percentile(ready_ms, 0.9):.0f} ms, max {max(ready_ms):.0f} ms")
    print(f"WATCHDOG=1 gaps at WATCHDOG_USEC={args.watchdog_usec} (expected {args.watchdog_usec / 2000:.0f} ms), "
          f"{len(gaps)} gaps: median {statistics.median(gaps):.1f} ms, p99 {percentile(gaps, 0.99):.1f} ms, "
          f"max {max(gaps):.1f} ms")


if __name__ == "__main__":
    main()
