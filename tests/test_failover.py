"""Three nodes on one PostgreSQL database, and the worst that happens to nodes: HA.md's test.

Alarms are added through one node only, due one a second. That node is killed (SIGKILL);
a second is frozen (SIGSTOP) until every alarm has rung and finished elsewhere (what it
held, once its lease ran out) and then let go; the third runs under libfaketime a few
seconds fast. Every alarm must ring exactly once, none early, those the frozen node did
not hold within 5 s of due and all within the lease plus 15 s; the thawed node dials
nothing and overwrites nothing, and the database's history agrees with the Twilio
stand-in's log.

It holds three daemons for about the lease's length, so it runs in an xdist group of its
own and does not starve its neighbours.
"""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests import postgres
from tests.conftest import Daemon, Home, twilio_block, wait_until
from tests.twilio_standin import TwilioStandin

pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
FAST = {"firstRetrySeconds": 0.5, "maxRetrySeconds": 2, "pollSeconds": 0.2, "pollMarginSeconds": 1,
        "intervalSeconds": 1, "requestTimeoutSeconds": 5}
ALARMS = 8
LEASE_SECONDS = 30  # alarmd.calls.lease.LEASE

pytestmark = [pytest.mark.system, pytest.mark.xdist_group("failover")]


def faketime_env(seconds: int) -> dict[str, str]:
    if not FAKETIME_LIB.is_file():
        reason = f"libfaketime is not installed ({FAKETIME_LIB}; Debian: faketime)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return {"LD_PRELOAD": str(FAKETIME_LIB), "FAKETIME": f"+{seconds}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def test_every_alarm_rings_once_while_nodes_die_freeze_and_run_fast(
    tmp_path: Path, pg_url: str, standin: TwilioStandin, daemons: list[Daemon]
) -> None:
    fast_clock = faketime_env(3)
    homes = []
    for name in ("added-through", "frozen", "fast"):
        (tmp_path / name / "home").mkdir(parents=True)
        home = Home(tmp_path / name)
        # The frozen node reaches the stand-in by another name, so its requests can be told apart.
        twilio = twilio_block(standin, apiBaseURL=standin.url.replace("127.0.0.1", "localhost")) \
            if name == "frozen" else twilio_block(standin)
        home.write_config(twilio, redial=FAST, database=pg_url)
        homes.append(home)
    daemons.extend([Daemon(homes[0]), Daemon(homes[1]), Daemon(homes[2], **fast_clock)])
    # All three are up on this database by their heartbeat rows, the fast one's clock
    # measured against the database's, before anything is due.
    wait_until(lambda: len(nodes := homes[0].api("GET", "/v1/status")[1]["nodes"]) == 3
               and all(n["alive"] for n in nodes) and any(n["clock_skew_ms"] >= 2500 for n in nodes), timeout=20)
    # Added over the API (the CLI's path, without a process per alarm), so the first can be
    # due soon and still leave the kill below room before its claim.
    first_due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=7)
    due = {f"alarm {i}": first_due + timedelta(seconds=i) for i in range(ALARMS)}
    for text, at in due.items():
        assert homes[0].api("POST", "/v1/alarms", {"at": at.isoformat(), "to": "MOBILE", "say": text})[0] == 201
    assert time.time() < first_due.timestamp() - 4.5, "the adds were too slow for this test to mean anything"

    # The node everything was added through dies before the first claim (3 s ahead).
    wait_until(lambda: time.time() >= first_due.timestamp() - 4.5, timeout=30)
    assert daemons[0].stop(signal.SIGKILL)[0] == -signal.SIGKILL
    # Another freezes just after the first alarms were claimed.
    wait_until(lambda: time.time() >= first_due.timestamp() - 1, timeout=30)
    daemons[1].proc.send_signal(signal.SIGSTOP)
    try:
        held = held_by(pg_url, homes[1])
        # Until every alarm has rung and finished elsewhere: what it held has then been taken
        # over (its lease ran out, another node's resume scan took it) by the time it wakes.
        # The timeout is the lease, the others' resume scans (every 5 s) and room for the calls
        # on a loaded machine (a run beside other suites once needed more than 25 s of it); it
        # ends as soon as all have finished, and how late each rang is asserted below.
        wait_until(lambda: len(standin.creates()) >= ALARMS and finished(pg_url) == ALARMS,
                   timeout=LEASE_SECONDS + 45)
    finally:
        daemons[1].proc.send_signal(signal.SIGCONT)
    thawed_at = time.time()

    time.sleep(3)  # room for a duplicate, or for the thawed node to write something
    rang: dict[str, list[float]] = {text: [] for text in due}
    for create in standin.creates():
        text = re.search(r"<Say>(alarm \d+)</Say>", create.field("Twiml") or "")
        assert text is not None
        rang[text.group(1)].append(create.at)
    for text, at in due.items():
        assert len(rang[text]) == 1, f"{text} rang {len(rang[text])} times"
        late = rang[text][0] - at.timestamp()
        assert late >= -1.0, f"{text} rang {-late:.1f} s early"
        assert late <= LEASE_SECONDS + 15, f"{text} rang {late:.1f} s late"
        if text not in held:
            assert late <= 5.0, f"{text}, not held by the frozen node ({sorted(held)}), rang {late:.1f} s late"
    from_frozen = [c for c in standin.creates() if c.headers.get("host", "").startswith("localhost")]
    assert all(c.at < thawed_at for c in from_frozen), "the thawed node dialled"

    with psycopg.connect(pg_url) as conn:
        history = conn.execute("SELECT o.status, a.sid FROM occurrences o JOIN attempts a "
                               "ON a.occurrence_id = o.id WHERE a.sid IS NOT NULL").fetchall()
    assert sorted(sid for _, sid in history) == sorted(r.sid for r in standin.placed() if r.sid)
    assert finished(pg_url) == ALARMS
    assert {status for status, _ in history} == {"answered"}
    assert "Traceback" not in daemons[1].log() + daemons[2].log()


def held_by(url: str, home: Home) -> set[str]:
    """The alarms (by their words) whose occurrences the node of `home` owns now."""
    node_id = (home.root / "home" / ".local" / "state" / "alarmd" / "node-id").read_text().strip()
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT a.say FROM occurrences o JOIN alarms a ON a.id = o.alarm_id "
                            "WHERE o.owner LIKE %s", (f"{node_id}/%",)).fetchall()
    return {say for (say,) in rows}


def finished(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM occurrences WHERE finished_at IS NOT NULL").fetchone()
    assert row is not None
    return int(row[0])


