"""Time from starting `alarmd run` to /healthz answering 200, over several fresh starts.

    python bench/startup.py [--runs 10] [--reuse]
    python bench/startup.py --alarms 10000 [--runs 5] [--mode dry-run|twilio|both] [--vs PYTHON]

Without --alarms each run uses a new HOME (so a new, empty database that the daemon must
create and migrate) unless --reuse is given, in which case the database already exists.

With --alarms N a database with N daily alarms is seeded once (bench/seed.py), and each
run starts on a fresh copy of it, in dry-run mode (no Twilio credentials) or Twilio mode
(pointed at the local stand-in, tests/twilio_standin.py). --vs names another tree's
Python (e.g. /work/base/.venv/bin/python): its starts are interleaved with this one's, on
its own seeded database. The baseline printed beside the figures is the bare import of
the stack, `python -c "import fastapi, uvicorn, sqlalchemy, apscheduler, phonenumbers"`.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchutil import free_port
from seed import env_for, fresh_home, seed

from tests.twilio_standin import TwilioStandin

STACK = "import fastapi, uvicorn, sqlalchemy, apscheduler, phonenumbers"


def one_start(python: str, env: dict[str, str], port: int, cwd: Path) -> float:
    url = f"http://127.0.0.1:{port}/healthz"
    start = time.perf_counter()
    proc = subprocess.Popen([python, "-m", "alarmd", "run"], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(f"alarmd run exited {proc.returncode}") from None
                time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def empty_start(home: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
    env.update(HOME=str(home), ALARMD_LISTEN=f"127.0.0.1:{port}")
    home.mkdir(parents=True, exist_ok=True)
    return one_start(sys.executable, env, port, home)


def import_time(python: str, statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", statement], check=True)
    return time.perf_counter() - start


def summary(seconds: list[float]) -> str:
    ms = sorted(t * 1000 for t in seconds)
    return f"median {statistics.median(ms):.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"


def with_alarms(args: argparse.Namespace) -> None:
    pythons = {"this tree": sys.executable} | ({"--vs": args.vs} if args.vs else {})
    modes = ["dry-run", "twilio"] if args.mode == "both" else [args.mode]
    with tempfile.TemporaryDirectory() as tmp, TwilioStandin() as standin:
        root = Path(tmp)
        seeded = {label: seed(python, root / f"seed-{i}", args.alarms) for i, (label, python) in
                  enumerate(pythons.items())}
        times: dict[tuple[str, str], list[float]] = {}
        stack: list[float] = []
        for _ in range(args.runs):  # interleaved: every tree and mode once per round
            stack.append(import_time(sys.executable, STACK))
            for mode in modes:
                for label, python in pythons.items():
                    home, port = root / "home", free_port()
                    fresh_home(seeded[label], home, port, standin if mode == "twilio" else None)
                    times.setdefault((label, mode), []).append(one_start(python, env_for(home), port, home))
    print(f"{args.alarms} alarms stored, alarmd run -> /healthz 200, {args.runs} runs each:")
    for (label, mode), seconds in times.items():
        print(f"  {mode:8} {label:10} ({pythons[label]}): {summary(seconds)}")
    print(f"  baseline: python -c \"{STACK}\": {summary(stack)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="start on an existing database")
    parser.add_argument("--alarms", type=int, default=0, help="start on a database holding this many alarms")
    parser.add_argument("--mode", choices=["dry-run", "twilio", "both"], default="both")
    parser.add_argument("--vs", metavar="PYTHON", help="another tree's Python, interleaved with this one")
    args = parser.parse_args()
    if args.alarms:
        with_alarms(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for i in range(args.runs):
            home = Path(tmp) / ("home" if args.reuse else f"home{i}")
            times.append(empty_start(home))
    print(f"alarmd run -> /healthz 200, {args.runs} runs ({'existing' if args.reuse else 'new'} database): "
          f"{summary(times)}")


if __name__ == "__main__":
    main()
