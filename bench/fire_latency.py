"""Fire latency: from each alarm's due instant to the Twilio stand-in receiving its POST.

A real `alarmd run` subprocess and the local stand-in (tests/twilio_standin.py) on
127.0.0.1. Each alarm says its own number (--say), so every POST is matched to its alarm.

- Phase 1: N one-off alarms due one after another (default 200, 100 ms apart);
  p50/p99/max of (POST arrival - due instant).
- Phase 2: M alarms due in the same second (default 100), to three numbers in turn (a
  hotel's rooms; --numbers); time from that instant until the last POST arrives.
- Phase 3: a thousand in one minute (default 1000, one every 60 ms); p99 of the latency
  and how many came later than 50 ms.

Beside each figure, its floor from the same run: a bare loopback POST made at the same
instants by a process of its own (bench/bare_post.py) that does nothing else.

    python bench/fire_latency.py [--alarms 200] [--spacing 0.1] [--burst 100]
        [--steady 1000] [--steady-spacing 0.06] [--busy] [--tree DIR] [--postgresql]

--busy starts two busy loops (nice 0), one pinned to each core, for the whole run: other
work keeping both cores busy, as `apt upgrade` would. The daemon runs at the Nice= of the
tree's alarmd.service, as systemd would start it (0 if it has none); so does the floor.
When root, this process (the stand-in, which stands for Twilio's servers elsewhere) runs
at nice -20 so that its arrival times are not held back by the load; the same for any tree.
--tree runs the daemon from another checkout (its .venv), e.g. a baseline, with the same
bench and stand-in. With --postgresql the daemon keeps its alarms in a throwaway
PostgreSQL 15 cluster (tests/postgres.py, as root) instead of an SQLite file.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import free_port, wait_healthy  # noqa: E402

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, MOBILE, NUMBER_FROM, twilio_block  # noqa: E402
from tests.postgres import Cluster  # noqa: E402
from tests.twilio_standin import TwilioStandin  # noqa: E402

TOKEN = "bench-api-token-0123456789abcdef"
LEAD = 5.0  # seconds between the last alarm added and the first due
SAID = re.compile(r"<Say>(bench|floor) (\d+)</Say>")
STANDIN_NICE = -20
FLOOR_COUNT = 40  # single floor POSTs, 100 ms apart


def unit_nice(tree: Path) -> int:
    """The Nice= in the tree's alarmd.service: the priority systemd would start the daemon at."""
    found = re.search(r"^Nice=(-?\d+)\s*$", (tree / "alarmd.service").read_text(), re.MULTILINE)
    return int(found.group(1)) if found else 0


def niced(nice: int, core: int | None = None) -> object:
    def apply() -> None:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        if core is not None:
            os.sched_setaffinity(0, {core})
    return apply


def busy_loops() -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=niced(0, core))  # type: ignore[arg-type]
            for core in sorted(os.sched_getaffinity(0))]


class Arrivals:
    """POST arrival times at the stand-in, by (label, index); new records parsed only once."""

    def __init__(self, standin: TwilioStandin):
        self.standin = standin
        self.seen = 0
        self.at: dict[tuple[str, int], float] = {}

    def wait(self, label: str, indexes: range, timeout: float) -> dict[int, float]:
        deadline = time.monotonic() + timeout
        while True:
            creates = self.standin.creates()
            for record in creates[self.seen:]:
                match = SAID.search(record.field("Twiml") or "")
                if match:
                    self.at.setdefault((match.group(1), int(match.group(2))), record.at)
            self.seen = len(creates)
            found = {i: self.at[(label, i)] for i in indexes if (label, i) in self.at}
            if len(found) == len(indexes) or time.monotonic() > deadline:
                return found
            time.sleep(0.25)


def post(port: int, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/alarms", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201


def schedule(port: int, dues: list[tuple[int, float]], numbers: int = 1) -> None:
    """Add the alarms through the API, four at a time, to `numbers` numbers in turn; none is due yet."""
    def add(item: tuple[int, float]) -> None:
        at = datetime.fromtimestamp(item[1], UTC).isoformat()
        post(port, {"to": item[0] % numbers, "at": at, "say": f"bench {item[0]}", "grace_seconds": 600})
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, dues))
    # The daemon claims 3 s ahead; adding must be over by then, or it overlaps firing.
    if time.time() > min(due for _, due in dues) - 3.5:
        raise SystemExit("adding the alarms took longer than planned; raise --add-seconds")


def floor(port: int, nice: int, instants: list[float]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_post.py"), str(port), ACCOUNT_SID,
                             AUTH_TOKEN, NUMBER_FROM, MOBILE, "floor", *map(repr, instants)],
                            preexec_fn=niced(nice))  # type: ignore[arg-type]


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def spread(latencies: list[float]) -> str:
    return (f"p50 {statistics.median(latencies):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms, "
            f"max {latencies[-1]:.1f} ms, min {latencies[0]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--spacing", type=float, default=0.1, help="seconds between phase-1 alarms")
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--numbers", type=int, default=3, help="phase-2 alarms call this many numbers in turn")
    parser.add_argument("--steady", type=int, default=1000, help="phase-3 alarms (0: no phase 3)")
    parser.add_argument("--steady-spacing", type=float, default=0.06, help="seconds between phase-3 alarms")
    parser.add_argument("--add-seconds", type=float, default=0.03, help="budget for adding one alarm")
    parser.add_argument("--busy", action="store_true", help="two busy loops, one per core, beside the daemon")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the alarmd checkout to run (its .venv)")
    parser.add_argument("--standin-nice", type=int, default=STANDIN_NICE if os.geteuid() == 0 else 0,
                        help="this process's (the stand-in's) priority")
    parser.add_argument("--profile", type=Path, help="py-spy (on PATH) records the daemon during phase 2 to this file")
    parser.add_argument("--postgresql", action="store_true", help="a throwaway PostgreSQL instead of SQLite")
    parser.add_argument("--dump", type=Path,
                        help="write each alarm's phase, index, due instant and POST arrival here (JSON lines)")
    args = parser.parse_args()
    tree = args.tree.resolve()
    python = tree / ".venv" / "bin" / "python"
    nice = unit_nice(tree)
    os.setpriority(os.PRIO_PROCESS, 0, args.standin_nice)
    cluster = Cluster.start() if args.postgresql else None
    # The stand-in timestamps each POST on arrival; its threads should not wait up to the
    # default 5 ms for the interpreter lock (this process also polls for arrivals) to do so.
    sys.setswitchinterval(0.0005)
    loops = busy_loops() if args.busy else []

    with tempfile.TemporaryDirectory() as tmp, TwilioStandin() as standin:
        root = Path(tmp)
        port = free_port()
        config = {"alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "timezone": "UTC",
                             "database": cluster.new_database() if cluster else str(root / "alarmd.db"),
                             "keepalive": {"enabled": False},
                             "limits": {"callsPerHour": 10_000}},
                  "twilio": twilio_block(standin, phoneNumbers=[
                      {"name": f"ROOM{n}", "number": f"+44 7700 900{n + 123:03d}"} for n in range(args.numbers)])}
        (root / "config.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))}
        env.update(HOME=str(root), ALARMD_CONFIG=str(root / "config.json"))
        log = (root / "daemon.log").open("w")
        proc = subprocess.Popen([str(python), "-m", "alarmd", "run"], env=env, cwd=tree,
                                stdout=log, stderr=subprocess.STDOUT, preexec_fn=niced(nice))  # type: ignore[arg-type]
        seen = Arrivals(standin)
        floors: dict[str, list[float]] = {}
        results: dict[str, tuple[list[float], int]] = {}
        next_index = 0

        def timed(name: str, offsets: list[float], numbers: int = 1) -> None:
            """Alarms due at now + lead + each offset; their latencies, and how many POSTs are missing."""
            nonlocal next_index
            first = next_index
            next_index += len(offsets)
            start = time.time() + LEAD + len(offsets) * args.add_seconds
            dues = [(first + i, start + offset) for i, offset in enumerate(offsets)]
            schedule(port, dues, numbers)
            if args.profile and name == "phase 2":
                # From just before the claims (3 s ahead) until a few seconds after the instant.
                time.sleep(max(0.0, dues[0][1] - 4 - time.time()))
                subprocess.Popen(["py-spy", "record", "-p", str(proc.pid), "-r", "1000", "-d", "7", "-f", "raw",
                                  "--nonblocking", "--threads", "-o", str(args.profile)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            got = seen.wait("bench", range(first, next_index), timeout=dues[-1][1] - time.time() + 30)
            results[name] = (sorted((got[i] - due) * 1000 for i, due in dues if i in got), len(offsets) - len(got))
            if args.dump:
                with args.dump.open("a") as dump:
                    for i, due in dues:
                        dump.write(json.dumps({"phase": name, "i": i, "due": due, "arrived": got.get(i)}) + "\n")

        def floor_run(name: str, offsets: list[float]) -> None:
            instants = [time.time() + 1.0 + offset for offset in offsets]
            floor(standin.port, nice, instants).wait(60)
            got = seen.wait("floor", range(len(instants)), timeout=10)
            floors[name] = sorted((got[i] - at) * 1000 for i, at in enumerate(instants) if i in got)
            seen.at = {k: v for k, v in seen.at.items() if k[0] != "floor"}

        try:
            wait_healthy(port, proc)
            floor_run("single", [i * 0.1 for i in range(FLOOR_COUNT)])
            floor_run("burst", [0.0] * args.burst)
            if args.alarms:
                timed("phase 1", [i * args.spacing for i in range(args.alarms)])
            if args.burst:
                timed("phase 2", [0.0] * args.burst, args.numbers)
            if args.steady:
                timed("phase 3", [i * args.steady_spacing for i in range(args.steady)])
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
            for loop in loops:
                loop.kill()
                loop.wait()
            log.close()
            problems = [line for line in (root / "daemon.log").read_text().splitlines()
                        if (" WARNING " in line or " ERROR " in line or "Traceback" in line)
                        and "authToken" not in line]
            if problems:
                print(f"daemon log: {len(problems)} warnings/errors, first: {problems[:3]}")
            if cluster:
                cluster.stop()

    print(f"tree: {tree} (daemon at nice {nice}, from its alarmd.service), "
          f"database: {'PostgreSQL' if args.postgresql else 'SQLite'}, "
          f"load: {f'{len(loops)} busy loops, one per core' if loops else 'none of our own'}")
    print(f"floor, a bare loopback POST at its instant: {spread(floors['single'])}")
    for name, (latencies, missing) in results.items():
        if not latencies:
            print(f"{name}: no POST arrived")
            continue
        lost = f" ({missing} POSTs missing)" if missing else ""
        if name == "phase 1":
            print(f"phase 1: {len(latencies)} alarms, {args.spacing * 1000:.0f} ms apart{lost}")
            print(f"  due -> POST latency: {spread(latencies)}")
        elif name == "phase 2":
            print(f"phase 2: {len(latencies)}/{args.burst} alarms due at the same instant, "
                  f"to {args.numbers} numbers{lost}")
            print(f"  first POST after {latencies[0]:.1f} ms, last POST after {latencies[-1]:.1f} ms "
                  f"(floor, {args.burst} bare POSTs in a row: last after {floors['burst'][-1]:.1f} ms)")
        else:
            late = sum(1 for latency in latencies if latency > 50)
            print(f"phase 3: {len(latencies)} alarms, {args.steady_spacing * 1000:.0f} ms apart{lost}")
            print(f"  due -> POST latency: {spread(latencies)}; {late} later than 50 ms")


if __name__ == "__main__":
    main()
