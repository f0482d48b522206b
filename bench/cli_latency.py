"""Wall time of `alarmd` verbs with 100 alarms and a real daemon running.

    python bench/cli_latency.py [--runs 20] [--alarms 100] [--tree DIR]

Starts `alarmd run` (dry-run, a throw-away HOME and database, a free loopback port),
adds the alarms through the HTTP API, then times, round after round so that a change
in the machine's load reaches every command alike: `python -c pass` (the floor: the
interpreter starting and stopping), `alarmd list`, the other verbs that only read
(status, show, next, history, and `--config FILE list`), and the writing ones (pause and
resume, add and remove) on this machine.
Prints the median and max of each: wall time, and the CLI process's own CPU time (which
other load on the machine disturbs less); and the daemon's share (GET /v1/alarms).
Goal (issue 22): every verb's median at most 8 times that of `python -c pass` in the same run.

--tree DIR runs DIR's own interpreter and `alarmd` (DIR/.venv), the daemon included,
so one script measures before (a checkout of the base) and after.
Every command runs with bytecode caching on (as from an installed wheel): one untimed
warm-up run of each writes the caches first.
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
GOAL_TIMES_PYTHON = 8


def run_timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system of the child) of one run, in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def commands(alarmd: list[str], python: str, config: Path) -> dict[str, list[list[str]]]:
    """What is timed: a name, and the command lines of one round (a writing pair leaves
    the alarms as it found them; each of its lines is timed on its own)."""
    return {
        "python -c pass": [[python, "-c", "pass"]],
        "list": [[*alarmd, "list"]],
        "list --json": [[*alarmd, "list", "--json"]],
        "--config FILE list": [[*alarmd, "--config", str(config), "list"]],
        "status": [[*alarmd, "status"]],
        "show ID": [[*alarmd, "show", "1"]],
        "show NAME --json": [[*alarmd, "show", "alarm-1", "--json"]],
        "next": [[*alarmd, "next"]],
        "next ID --explain": [[*alarmd, "next", "1", "--explain"]],
        "history": [[*alarmd, "history"]],
        "pause ID": [[*alarmd, "pause", "2"]],
        "resume ID": [[*alarmd, "resume", "2"]],
        "add --at": [[*alarmd, "add", "--to", "0", "--at", "in 5h", "--name", "bench"]],
        "remove NAME": [[*alarmd, "remove", "bench"]],
    }


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
    return f"  {name:<20} median {median:6.1f} ms   max {worst:6.1f} ms   ({len(times)} runs)"


def measure(tree: Path, runs: int, alarms: int) -> tuple[dict[str, list[float]], dict[str, list[float]], list[float]]:
    python = str(tree / ".venv" / "bin" / "python")
    script = tree / ".venv" / "bin" / "alarmd"
    alarmd = [str(script)] if script.exists() else [python, "-m", "alarmd"]
    root = Path(tempfile.mkdtemp(prefix="alarmd-bench-"))
    port = free_port()
    config = root / "config.json"
    config.write_text(json.dumps({
        "alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "database": str(root / "alarmd.db"),
                   "timezone": "Europe/London"},
        "twilio": {"enabled": False, "phoneNumbers": [{"name": "MOBILE", "number": "+44 7700 900123"}]},
    }))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALARMD_", "TWILIO_")) and k not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR")}
    env.update(HOME=str(root), ALARMD_CONFIG=str(config))
    daemon = subprocess.Popen([*alarmd, "run"], env=env, cwd=tree, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    try:
        wait_healthy(port, daemon)
        add_alarms(port, alarms)
        listed = subprocess.run([*alarmd, "list"], env=env, check=True, capture_output=True, text=True)
        assert listed.stdout.rstrip().endswith(f"{alarms} alarms listed."), listed.stdout[-200:]
        timed = commands(alarmd, python, config)
        for lines in timed.values():  # warm-up: bytecode caches
            for line in lines:
                run_timed(line, env)
        for _ in range(runs):
            for name, lines in timed.items():
                for line in lines:
                    wall, cpu = run_timed(line, env)
                    walls.setdefault(name, []).append(wall)
                    cpus.setdefault(name, []).append(cpu)
        answers = answer_times(port, runs)
    finally:
        daemon.terminate()
        daemon.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    return walls, cpus, answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose .venv runs the daemon and the CLI (default: this one)")
    args = parser.parse_args()

    walls, cpus, answers = measure(args.tree.resolve(), args.runs, args.alarms)
    print(f"alarmd verbs with {args.alarms} alarms, daemon running, tree {args.tree}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("wall time:")
    for name, times in walls.items():
        print(summary(name, times))
    print("CPU time of the process itself (user + system; less sensitive to other load):")
    for name, times in cpus.items():
        print(summary(name, times))
    print("the daemon's share (GET /v1/alarms, wall):")
    print(summary("GET /v1/alarms", answers))
    floor = statistics.median(walls["python -c pass"])
    slowest = max((n for n in walls if n != "python -c pass"), key=lambda n: statistics.median(walls[n]))
    times = statistics.median(walls[slowest]) / floor
    print(f"goal every verb median <= {GOAL_TIMES_PYTHON} x `python -c pass` ({floor:.1f} ms): slowest {slowest}, "
          f"{times:.1f} x: {'met' if times <= GOAL_TIMES_PYTHON else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
