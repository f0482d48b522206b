"""A hotel's 07:00 against a Twilio that queues and refuses: what rang, what was canceled, how hard alarmd pushed.

A real `alarmd run` subprocess and the local stand-in (tests/twilio_standin.py) on
127.0.0.1. N one-off alarms (default 100) are due at the same instant, each saying its
own room. The stand-in plays Twilio under load: it lets calls out of `queued` at
--cps calls per second (Twilio's default: 1) and refuses every --refuse-every-th create
with 20429 and `Retry-After: --retry-after`. The redial settings are alarmd's defaults
unless given (ring 60 s + margin 30 s, first retry 10 s, redial after 120 s, polls every 2 s).

    python bench/hotel_burst.py [--alarms 100] [--cps 1] [--refuse-every 0] [--retry-after 1]
        [--ring 60] [--margin 30] [--first-retry 10] [--interval 120] [--calls-per-hour 10000] [--tree DIR]

--tree runs the daemon of another checkout with its own .venv (e.g. /work/base, for a
"before" figure); the stand-in is always this tree's. Printed: the outcomes, how many
calls were canceled while still queued and redialled, when the last phone rang, and for
the 20429s the waits between a refusal and its retry (the least, and the most retries
sent in any 100 ms).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import free_port, wait_healthy  # noqa: E402

from tests.conftest import twilio_block  # noqa: E402
from tests.twilio_standin import TwilioStandin  # noqa: E402

TOKEN = "bench-api-token-0123456789abcdef"


def add_burst(port: int, count: int, ring: int) -> float:
    instant = datetime.now(UTC) + timedelta(seconds=3.5 + count * 0.03)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for room in range(count):
        body = {"to": 0, "at": instant.isoformat(), "say": f"room {room}", "ring_seconds": ring,
                "grace_seconds": 600, "redial_attempts": 3}
        connection.request("POST", "/v1/alarms", json.dumps(body),
                           {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 201:
            raise SystemExit(f"adding an alarm failed: {response.status}")
    connection.close()
    return instant.timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--cps", type=float, default=1.0, help="calls let out of the queue per second (0: no queue)")
    parser.add_argument("--refuse-every", type=int, default=0, help="refuse every Nth create with 20429 (0: none)")
    parser.add_argument("--retry-after", default="1", help="the Retry-After header sent with a 20429")
    parser.add_argument("--ring", type=int, default=60, help="each alarm's ring seconds")
    parser.add_argument("--margin", type=float, default=30.0, help="alarmd.redial.pollMarginSeconds")
    parser.add_argument("--first-retry", type=float, default=10.0, help="alarmd.redial.firstRetrySeconds")
    parser.add_argument("--interval", type=int, default=120, help="alarmd.redial.intervalSeconds")
    parser.add_argument("--calls-per-hour", type=int, default=10_000, help="alarmd.limits.callsPerHour")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose daemon runs (its .venv)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, TwilioStandin() as standin:
        standin.calls_per_second = args.cps or None
        standin.rate_limit_every = args.refuse_every or None
        standin.retry_after = args.retry_after
        standin.status_script = ["ringing", "completed"]
        root, port = Path(tmp), free_port()
        config = {"alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "timezone": "UTC",
                             "database": str(root / "alarmd.db"), "keepalive": {"enabled": False},
                             "limits": {"callsPerHour": args.calls_per_hour},
                             "redial": {"pollMarginSeconds": args.margin, "firstRetrySeconds": args.first_retry,
                                        "intervalSeconds": args.interval}},
                  "twilio": twilio_block(standin)}
        (root / "config.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
        env.update(HOME=str(root), ALARMD_CONFIG=str(root / "config.json"))
        tree = args.tree.resolve()
        with (root / "daemon.log").open("w") as log:
            proc = subprocess.Popen([str(tree / ".venv/bin/python"), "-m", "alarmd", "run"], env=env, cwd=tree,
                                    stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(port, proc)
                instant = add_burst(port, args.alarms, args.ring)
                started = time.monotonic()
                # Occurrences are made when claimed (3 s early), then finish one by one.
                while _unfinished(root, args.alarms) and time.monotonic() - started < 900:
                    time.sleep(0.5)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        report(root, standin, instant, args)


def _unfinished(root: Path, alarms: int) -> int:
    with sqlite3.connect(root / "alarmd.db") as db:
        done = db.execute("SELECT count(*) FROM occurrences WHERE finished_at IS NOT NULL").fetchone()[0]
    return alarms - int(done)


def report(root: Path, standin: TwilioStandin, instant: float, args: argparse.Namespace) -> None:
    with sqlite3.connect(root / "alarmd.db") as db:
        outcomes = collections.Counter(s for (s,) in db.execute("SELECT status FROM occurrences"))
    creates = standin.creates()
    refused = [r for r in creates if r.answered == 429]
    placed = [r for r in creates if r.sid]
    rang = standin.rang()
    queued_cancels = standin.canceled_in_queue()
    calls_per_room = collections.Counter(r.field("Twiml") for r in placed)
    print(f"daemon: {args.tree}; {args.alarms} alarms due at one instant; stand-in: {args.cps:g} calls/s out of "
          f"the queue, every {args.refuse_every or '-'}th create refused 20429 (Retry-After {args.retry_after})")
    print(f"  outcomes: {dict(outcomes)}")
    print(f"  requests to create a call: {len(creates)} ({len(refused)} refused 20429, {len(placed)} placed); "
          f"rooms called more than once: {sum(1 for n in calls_per_room.values() if n > 1)}")
    rang_at = [standin.leaves_queue[sid] for sid in rang if sid in standin.leaves_queue]
    if args.cps:
        print(f"  calls canceled while still queued at Twilio: {len(queued_cancels)}; calls that rang: {len(rang)}"
              + (f", the last {max(rang_at) - instant:.1f} s after the instant" if rang_at else ""))
    if refused:
        # Each refusal's wait until the next request for the same room.
        waits = []
        for record in refused:
            later = [r.at for r in creates if r.field("Twiml") == record.field("Twiml") and r.at > record.at]
            if later:
                waits.append(min(later) - record.at)
        first = min(r.at for r in refused)
        busiest = max(collections.Counter(int(r.at * 10) for r in creates if r.at > first + 0.5).values(),
                      default=0)
        print(f"  refusal -> retry: least {min(waits):.2f} s, median {statistics.median(waits):.2f} s, "
              f"most {max(waits):.2f} s; most creates in any 100 ms slot from 0.5 s after the first "
              f"refusal: {busiest}")
    if creates:
        print(f"  last create request {max(r.at for r in creates) - instant:.1f} s after the instant")


if __name__ == "__main__":
    main()
