"""Fire latency: from each alarm's due instant to the Twilio stand-in receiving its POST.

A real `alarmd run` subprocess and the local stand-in (tests/twilio_standin.py) on
127.0.0.1. Phase 1: N one-off alarms due one after another (default 200, 100 ms
apart); p50/p99/max of (POST arrival - due instant). Phase 2: M alarms due in the same
second (default 100); time from that instant until the last POST arrives. Each alarm
says its own number (--say), so every POST is matched to its alarm exactly.

    python bench/fire_latency.py [--alarms 200] [--burst 100] [--spacing 0.1] [--postgresql]

With --postgresql the daemon keeps its alarms in a throwaway PostgreSQL 15 cluster
(tests/postgres.py, as root) instead of an SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import free_port, wait_healthy  # noqa: E402

from tests.conftest import twilio_block  # noqa: E402
from tests.postgres import Cluster  # noqa: E402
from tests.twilio_standin import TwilioStandin  # noqa: E402

TOKEN = "bench-api-token-0123456789abcdef"
LEAD = 5.0  # seconds between the last alarm added and the first due
ADD_SECONDS = 0.06  # budget for adding one alarm through the API
SAID = re.compile(r"<Say>bench (\d+)</Say>")


def post(port: int, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/alarms", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def arrivals(standin: TwilioStandin, first: int, count: int, timeout: float) -> dict[int, float]:
    """Alarm index -> time.time() its POST arrived, for indexes first..first+count-1."""
    wanted = set(range(first, first + count))
    deadline = time.monotonic() + timeout
    while True:
        found: dict[int, float] = {}
        for record in standin.creates():
            match = SAID.search(record.field("Twiml") or "")
            if match and int(match.group(1)) in wanted:
                found[int(match.group(1))] = record.at
        if len(found) == count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def schedule(port: int, dues: list[tuple[int, float]]) -> None:
    for index, due in dues:
        at = datetime.fromtimestamp(due, UTC).isoformat()
        post(port, {"to": 0, "at": at, "say": f"bench {index}", "grace_seconds": 600})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=0.1, help="seconds between phase-1 alarms")
    parser.add_argument("--postgresql", action="store_true", help="a throwaway PostgreSQL instead of SQLite")
    args = parser.parse_args()
    cluster = Cluster.start() if args.postgresql else None
    # The stand-in timestamps each POST on arrival; its threads should not wait up to the
    # default 5 ms for the interpreter lock (this process also polls for arrivals) to do so.
    sys.setswitchinterval(0.0005)

    with tempfile.TemporaryDirectory() as tmp, TwilioStandin() as standin:
        root = Path(tmp)
        port = free_port()
        config = {"alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "timezone": "UTC",
                             "database": cluster.new_database() if cluster else str(root / "alarmd.db"),
                             "keepalive": {"enabled": False},
                             "limits": {"callsPerHour": 10_000}},
                  "twilio": twilio_block(standin)}
        (root / "config.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
        env.update(HOME=str(root), ALARMD_CONFIG=str(root / "config.json"))
        log = (root / "daemon.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "alarmd", "run"], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(port, proc)

            # Phase 1: one after another. Adding takes a while; the first is due after that,
            # and after the daemon's claim lead (3 s), so adding does not overlap firing.
            start = time.time() + LEAD + args.alarms * ADD_SECONDS
            dues = [(i, start + i * args.spacing) for i in range(args.alarms)]
            schedule(port, dues)
            if time.time() > start - 3.5:
                raise SystemExit("adding the alarms took longer than planned; raise ADD_SECONDS")
            got = arrivals(standin, 0, args.alarms, timeout=dues[-1][1] - time.time() + 15)
            latencies = sorted((got[i] - due) * 1000 for i, due in dues if i in got)
            if os.environ.get("BENCH_SERIES"):
                print([round((got[i] - due) * 1000) for i, due in dues if i in got])
            missing = args.alarms - len(latencies)

            # Phase 2: all due at the same instant.
            base = args.alarms
            instant = time.time() + LEAD + args.burst * ADD_SECONDS
            schedule(port, [(base + i, instant) for i in range(args.burst)])
            if time.time() > instant - 3.5:
                raise SystemExit("adding the alarms took longer than planned; raise ADD_SECONDS")
            burst = arrivals(standin, base, args.burst, timeout=instant - time.time() + 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
            log.close()
            problems = [line for line in (root / "daemon.log").read_text().splitlines()
                        if (" WARNING " in line or " ERROR " in line or "Traceback" in line)
                        and "authToken" not in line]
            if problems:
                print(f"daemon log: {len(problems)} warnings/errors, first: {problems[:3]}")
            if cluster:
                cluster.stop()

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    print(f"database: {'PostgreSQL' if args.postgresql else 'SQLite'}")
    print(f"phase 1: {len(latencies)} alarms, {args.spacing * 1000:.0f} ms apart"
          + (f" ({missing} POSTs missing)" if missing else ""))
    print(f"  due -> POST latency: p50 {statistics.median(latencies):.1f} ms, "
          f"p99 {pct(latencies, 0.99):.1f} ms, max {latencies[-1]:.1f} ms, min {latencies[0]:.1f} ms")
    if burst:
        last = (max(burst.values()) - instant) * 1000
        first = (min(burst.values()) - instant) * 1000
        print(f"phase 2: {len(burst)}/{args.burst} alarms due at the same instant")
        print(f"  first POST after {first:.1f} ms, last POST after {last:.1f} ms")
    else:
        print(f"phase 2: no POST arrived for the {args.burst} alarms")


if __name__ == "__main__":
    main()
