"""Sequential HTTP API throughput of a real `alarmd run` over loopback.

    python bench/api_throughput.py [--posts 2000] [--stored 1000] [--gets 2000]

1. POST /v1/alarms, one-off alarms, one request after the other on one keep-alive
   connection, into a fresh database: requests per second and p50/p99 latency.
2. GET /v1/alarms with --stored alarms in another fresh database, likewise.

The daemon runs in dry-run mode in a temporary HOME; nothing is dialled (every alarm
is a day or more ahead). Only the standard library is used.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchutil import free_port

TOKEN = "bench-token-0123456789abcdefghij"


@contextmanager
def daemon(root: Path) -> Iterator[http.client.HTTPConnection]:
    """`alarmd run` on a fresh database; a keep-alive connection to it."""
    port = free_port()
    (root / "home").mkdir(parents=True)
    config = {"alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "timezone": "UTC",
                         "database": str(root / "alarmd.db"), "keepalive": {"enabled": False}},
              "twilio": {"phoneNumbers": [{"name": "MOBILE", "number": "+44 7700 900123"}]}}
    (root / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
    env.update(HOME=str(root / "home"), ALARMD_CONFIG=str(root / "config.json"))
    log = (root / "daemon.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "alarmd", "run"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"alarmd run did not start; see {root / 'daemon.log'}") from None
                time.sleep(0.05)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        yield connection
        connection.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        log.close()


def request(connection: http.client.HTTPConnection, method: str, path: str,
            body: dict[str, object] | None = None) -> int:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status


def one_off(i: int) -> dict[str, object]:
    # A day ahead plus i seconds: unique, never due while the bench runs.
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, seconds=i)
    return {"to": 0, "at": at.isoformat(), "name": f"bench-{i}"}


def timed(count: int, send: Callable[[int], int], expect: int) -> list[float]:
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        status = send(i)
        latencies.append(time.perf_counter() - start)
        if status != expect:
            raise SystemExit(f"request {i} answered {status}, not {expect}")
    return latencies


def report(label: str, latencies: list[float]) -> None:
    total = sum(latencies)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"{label:<34} {len(latencies):>6} {len(latencies) / total:>9.0f} "
          f"{statistics.median(latencies) * 1000:>8.2f} {cuts[98] * 1000:>8.2f} {max(latencies) * 1000:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000, help="POST /v1/alarms requests")
    parser.add_argument("--stored", type=int, default=1000, help="alarms stored for the GET run")
    parser.add_argument("--gets", type=int, default=2000, help="GET /v1/alarms requests")
    args = parser.parse_args()
    print(f"{'':<34} {'reqs':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        with daemon(Path(tmp) / "posts") as connection:
            posts = timed(args.posts, lambda i: request(connection, "POST", "/v1/alarms", one_off(i)), 201)
        report("POST /v1/alarms (one-off)", posts)
        with daemon(Path(tmp) / "gets") as connection:
            for i in range(args.stored):
                request(connection, "POST", "/v1/alarms", one_off(i))
            gets = timed(args.gets, lambda _: request(connection, "GET", "/v1/alarms"), 200)
        report(f"GET /v1/alarms ({args.stored} stored)", gets)


if __name__ == "__main__":
    main()
