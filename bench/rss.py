"""Idle resident memory of `alarmd run` with many alarms stored, 5 s after /healthz first answers.

    python bench/rss.py [--alarms 10000] [--runs 3] [--mode dry-run|twilio|both] [--vs PYTHON]

Each run starts the daemon on a fresh copy of a seeded database (bench/seed.py), in
dry-run mode or Twilio mode (the local stand-in), waits for /healthz, lets it idle 5 s,
and reads VmRSS from /proc. --vs names another tree's Python (e.g.
/work/base/.venv/bin/python), interleaved with this one. Beside the figures: the RSS of a
bare Python that imported the stack (with the twilio SDK, and with Alembic too).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import free_port, wait_healthy
from seed import env_for, fresh_home, seed

from tests.twilio_standin import TwilioStandin

IDLE_SECONDS = 5.0
STACK = "fastapi, uvicorn, sqlalchemy, apscheduler, phonenumbers"
BASELINES = {STACK: STACK, f"{STACK}, twilio": f"{STACK}, twilio.rest",
             f"{STACK}, twilio, alembic": f"{STACK}, twilio.rest, alembic.command"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for process {pid}")


def idle_rss(python: str, home: Path, port: int) -> float:
    proc = subprocess.Popen([python, "-m", "alarmd", "run"], env=env_for(home), cwd=home,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, proc, timeout=60)
        time.sleep(IDLE_SECONDS)
        return rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def import_rss(python: str, modules: str) -> float:
    probe = (f"import {modules}\nfrom pathlib import Path\n"
             "print(next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmRSS:')))")
    out = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True).stdout
    return int(out.split()[1]) / 1024


def summary(values: list[float]) -> str:
    values = sorted(values)
    return f"median {statistics.median(values):.1f} MB, min {values[0]:.1f} MB, max {values[-1]:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mode", choices=["dry-run", "twilio", "both"], default="both")
    parser.add_argument("--vs", metavar="PYTHON", help="another tree's Python, interleaved with this one")
    args = parser.parse_args()
    pythons = {"this tree": sys.executable} | ({"--vs": args.vs} if args.vs else {})
    modes = ["dry-run", "twilio"] if args.mode == "both" else [args.mode]
    figures: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, TwilioStandin() as standin:
        root = Path(tmp)
        seeded = {label: seed(python, root / f"seed-{i}", args.alarms) for i, (label, python) in
                  enumerate(pythons.items())}
        for _ in range(args.runs):
            for mode in modes:
                for label, python in pythons.items():
                    home, port = root / "home", free_port()
                    fresh_home(seeded[label], home, port, standin if mode == "twilio" else None)
                    figures.setdefault((label, mode), []).append(idle_rss(python, home, port))
    print(f"{args.alarms} alarms stored, VmRSS of alarmd run {IDLE_SECONDS:.0f} s after /healthz, "
          f"{args.runs} runs each:")
    for (label, mode), values in figures.items():
        print(f"  {mode:8} {label:10} ({pythons[label]}): {summary(values)}")
    for label, modules in BASELINES.items():
        print(f"  baseline: python -c \"import {label}\": {import_rss(sys.executable, modules):.1f} MB")


if __name__ == "__main__":
    main()
