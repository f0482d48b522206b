"""A seeded demo of alarmd for pictures and measurements: a real daemon on loopback, in Twilio
mode against the local Twilio stand-in (tests/twilio_standin.py), with a few alarms.

Used by docs/screenshots.py and bench/web_page.py; run from the repository's root.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.twilio_standin import TwilioStandin  # noqa: E402

TOKEN = "demo-api-token-0123456789abcdef"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--metrics-recording-only"]


def chromium() -> str:
    return os.environ.get("ALARMD_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Demo:
    url: str
    standin: TwilioStandin

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(self.url + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def sign_in_url(self) -> str:
        return self.url + self.api("POST", "/v1/web/links")["path"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(zone: str = "Europe/London") -> Iterator[Demo]:
    with tempfile.TemporaryDirectory() as tmp, TwilioStandin() as standin:
        root = Path(tmp)
        port = _port()
        config = {
            "alarmd": {"listen": f"127.0.0.1:{port}", "apiToken": TOKEN, "timezone": zone,
                       "database": str(root / "alarmd.db")},
            "twilio": {"enabled": True, "accountSID": "AC" + "0" * 32, "authToken": "demo-auth-token",
                       "numberFrom": "+1 415 555 0100", "apiBaseURL": standin.url,
                       "phoneNumbers": [{"name": "Mobile", "number": "+44 7700 900123"},
                                        {"name": "Partner", "number": "+44 7700 900456"},
                                        {"name": "Office", "number": "+44 1122 334455", "secret": True}]},
        }
        (root / "config.json").write_text(json.dumps(config))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("ALARMD_", "TWILIO_"))},
               "ALARMD_CONFIG": str(root / "config.json"), "HOME": str(root)}
        proc = subprocess.Popen([sys.executable, "-m", "alarmd", "run"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(port, proc)
            yield Demo(f"http://127.0.0.1:{port}", standin)
        finally:
            proc.terminate()
            proc.wait(15)


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the demo daemon exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the demo daemon did not answer within 30 s")


def seed(demo: Demo) -> None:
    """Alarms a household might have, one skipping its next ring, one paused, a test call made."""
    demo.api("POST", "/v1/alarms", {"to": "Mobile", "daily": "06:45", "days": "mon-fri", "name": "Work days",
                                    "say": "Good morning. Time to get up."})
    weekend = demo.api("POST", "/v1/alarms", {"to": "Mobile", "daily": "09:30", "days": "sat,sun",
                                              "name": "Weekend", "then": "Partner"})
    demo.api("POST", f"/v1/alarms/{weekend['id']}/skip")
    flight = (datetime.now(UTC) + timedelta(days=3)).replace(hour=4, minute=30, second=0, microsecond=0)
    demo.api("POST", "/v1/alarms", {"to": "Partner", "at": flight.isoformat(), "name": "Airport taxi"})
    gym = demo.api("POST", "/v1/alarms", {"to": "Office", "cron": "0 18 * * 2,4", "name": "Gym"})
    demo.api("POST", f"/v1/alarms/{gym['id']}/pause")
    demo.api("POST", "/twilio/Mobile")


def seed_many(demo: Demo, count: int) -> None:
    for i in range(count):
        demo.api("POST", "/v1/alarms", {"to": i % 2, "daily": f"{5 + i % 5:02d}:{i % 60:02d}",
                                        "days": "mon-fri" if i % 3 else "sat,sun", "name": f"alarm {i:03d}",
                                        "say": "Wake up." if i % 4 == 0 else None})
