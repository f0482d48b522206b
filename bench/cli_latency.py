"""Wall time of `alarmd list` with 100 alarms and a real daemon running.

    python bench/cli_latency.py [--runs 20] [--alarms 100]

Starts `alarmd run` (dry-run, a throw-away HOME and database, a free loopback port),
adds the alarms through the HTTP API, then times `alarmd list` and, beside it,
`python -c pass` (the floor: the interpreter starting and stopping) and
`alarmd --config FILE list` (the same listing through the full click command, which
every verb but `list` and `status` takes) on this machine.
Prints the median and max of each: wall time, the CLI process's own CPU time (which
other load on the machine disturbs less), and the daemon's share (GET /v1/alarms).
Goal: `alarmd list` median wall time at most 150 ms.

Both run with bytecode caching on (as from an installed wheel): one untimed warm-up
run of each writes the caches first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchutil import free_port, wait_healthy

TOKEN = "bench-token-0123456789abcdefghij"


def alarmd_command() -> list[str]:
    script = Path(sys.executable).with_name("alarmd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "alarmd"]


def timed(command: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (user + system of the child) in ms."""
    subprocess.run(command, env=env, check=True, capture_output=True)  # warm-up: bytecode caches
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        walls.append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return walls, cpus


def answer_times(port: int, runs: int) -> list[float]:
    """The daemon's share: GET /v1/alarms over loopback, in this (already running) process."""
    times = []
    for _ in range(runs):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/alarms",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        times.append((time.perf_counter() - start) * 1000)
    return times


def add_alarms(port: int, count: int) -> None:
    for i in range(count):
        body = {"to": 0, "daily": f"{5 + i % 5:02d}:{i % 60:02d}", "days": "mon-fri", "name": f"alarm-{i}"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/alarms", data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10):
            pass


def summary(name: str, times: list[float]) -> str:
    median, worst = statistics.median(times), max(times)
    return f"  {name:<18} median {median:6.1f} ms   max {worst:6.1f} ms   ({len(times)} runs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--alarms", type=int, default=100)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="alarmd-bench-"))
    port = free_port()
    config = root / "config.json"
    config.write_text(json.dumps({
        "alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "database": str(root / "alarmd.db"),
                   "timezone": "Europe/London"},
        "twilio": {"enabled": False, "phoneNumbers": [{"name": "MOBILE", "number": "+44 7700 900123"}]},
    }))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALARMD_", "TWILIO_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HOME=str(root), ALARMD_CONFIG=str(config))
    daemon = subprocess.Popen([*alarmd_command(), "run"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, daemon)
        add_alarms(port, args.alarms)
        listed = subprocess.run([*alarmd_command(), "list"], env=env, check=True, capture_output=True,
                                text=True)
        assert listed.stdout.rstrip().endswith(f"{args.alarms} alarms listed."), listed.stdout[-200:]
        baseline, baseline_cpu = timed([sys.executable, "-c", "pass"], env, args.runs)
        listing, listing_cpu = timed([*alarmd_command(), "list"], env, args.runs)
        full, full_cpu = timed([*alarmd_command(), "--config", str(config), "list"], env, args.runs)
        answers = answer_times(port, args.runs)
    finally:
        daemon.terminate()
        daemon.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    print(f"alarmd list with {args.alarms} alarms, daemon running; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("wall time:")
    print(summary("python -c pass", baseline))
    print(summary("alarmd list", listing))
    print(summary("... through click", full))
    print("CPU time of the process itself (user + system; less sensitive to other load):")
    print(summary("python -c pass", baseline_cpu))
    print(summary("alarmd list", listing_cpu))
    print(summary("... through click", full_cpu))
    print("the daemon's share (GET /v1/alarms, wall):")
    print(summary("GET /v1/alarms", answers))
    goal = statistics.median(listing) <= 150
    print(f"goal (median <= 150 ms): {'met' if goal else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
