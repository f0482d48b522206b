"""Time from starting `alarmd run` to /healthz answering 200, over several fresh starts.

    python bench/startup.py [--runs 10]

Each run uses a new HOME (so a new, empty database that the daemon must create and
migrate) unless --reuse is given, in which case the database already exists.
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


def one_start(home: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
    env.update(HOME=str(home), ALARMD_LISTEN=f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}/healthz"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "alarmd", "run"], env=env,
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
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="start on an existing database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for i in range(args.runs):
            home = Path(tmp) / ("home" if args.reuse else f"home{i}")
            times.append(one_start(home))
    ms = sorted(t * 1000 for t in times)
    print(f"alarmd run -> /healthz 200, {args.runs} runs ({'existing' if args.reuse else 'new'} database): "
          f"median {statistics.median(ms):.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms")


if __name__ == "__main__":
    main()
