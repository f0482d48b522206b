"""Failover: how late an alarm rings when the node that claimed it dies at the worst moment.

Two `alarmd run` nodes on one throwaway PostgreSQL database (tests/postgres.py, as root)
and the local Twilio stand-in. Each run adds one alarm; the node that claims it (3 s
ahead) is killed with SIGKILL half a second before it is due, after its attempt row is
written and before its request goes out, so the other node must wait out the lease and
settle the attempt from Twilio's call list. Printed: how late the one call arrived, median
and max over the runs, and that no run rang twice.

    python bench/failover.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import free_port, wait_healthy  # noqa: E402

from tests.conftest import twilio_block  # noqa: E402
from tests.postgres import Cluster  # noqa: E402
from tests.twilio_standin import TwilioStandin  # noqa: E402

TOKEN = "bench-api-token-0123456789abcdef"


def start_node(root: Path, url: str, standin: TwilioStandin) -> tuple[subprocess.Popen[bytes], int, str]:
    root.mkdir(parents=True)
    port = free_port()
    config = {"alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "timezone": "UTC", "database": url,
                         "keepalive": {"enabled": False}, "limits": {"callsPerHour": 10_000}},
              "twilio": twilio_block(standin)}
    (root / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
    env.update(HOME=str(root), ALARMD_CONFIG=str(root / "config.json"))
    proc = subprocess.Popen([sys.executable, "-m", "alarmd", "run"], env=env, cwd=ROOT,
                            stdout=(root / "daemon.log").open("w"), stderr=subprocess.STDOUT)
    wait_healthy(port, proc)
    node_id = (root / ".local" / "state" / "alarmd" / "node-id").read_text().strip()
    return proc, port, node_id


def one_run(cluster: Cluster, standin: TwilioStandin, tmp: Path, run: int) -> tuple[float, int]:
    url = cluster.new_database()
    nodes = [start_node(tmp / f"run{run}" / name, url, standin) for name in ("a", "b")]
    try:
        due = time.time() + 6
        before = len(standin.creates())
        subprocess.run([sys.executable, "-m", "alarmd", "add", "--at", datetime.fromtimestamp(due, UTC).isoformat(),
                        "--to", "0"], env={**os.environ, "ALARMD_CONFIG": str(tmp / f"run{run}" / "a" / "config.json"),
                                          "HOME": str(tmp / f"run{run}" / "a")}, check=True, capture_output=True)
        time.sleep(max(0.0, due - 0.5 - time.time()))
        with psycopg.connect(url) as conn:
            owner = conn.execute("SELECT owner FROM occurrences").fetchone()
        claimer = next(i for i, (_, _, node) in enumerate(nodes) if owner and owner[0].startswith(node + "/"))
        nodes[claimer][0].send_signal(signal.SIGKILL)
        deadline = time.time() + 90
        while len(standin.creates()) == before and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(2)
        calls = standin.creates()[before:]
        return (calls[0].at - due if calls else float("inf")), len(calls)
    finally:
        for proc, _, _ in nodes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    cluster = Cluster.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = []
            for run in range(args.runs):
                # A stand-in of its own per run: a takeover settles from Twilio's call list,
                # which must not show the previous run's call to the same number.
                with TwilioStandin() as standin:
                    results.append(one_run(cluster, standin, Path(tmp), run))
    finally:
        cluster.stop()
    late = sorted(lateness for lateness, _ in results)
    print(f"{args.runs} runs: the claiming node killed 0.5 s before the alarm was due")
    print(f"  rang late by: median {statistics.median(late):.1f} s, max {late[-1]:.1f} s, min {late[0]:.1f} s")
    print(f"  calls per run: {sorted({count for _, count in results})} (1 means exactly once)")


if __name__ == "__main__":
    main()
