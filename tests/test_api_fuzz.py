"""Schema-driven fuzzing of the live API from its own /openapi.json (schemathesis, from PyPI).

A real daemon; schemathesis's own CLI with a valid token, a fixed seed and a bounded
number of cases per operation. Checks: no 5xx, every answer matches the schema (body,
status code, content type).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import API_TOKEN, Home, twilio_block

pytestmark = pytest.mark.system

CASES_PER_OPERATION = 20
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
# Path parameters drawn from alarms that exist, so the fuzzing reaches past the 404.
CONFIG = """
[dictionaries.refs]
values = ["1", "2", "3", "wake", "weekdays"]

[dictionaries.numbers]
values = ["0", "1", "MOBILE", "OFFICE"]

[parameters]
"path.ref" = { dictionary = "refs", probability = 0.7 }
"path.x" = { dictionary = "numbers", probability = 0.7 }
"""


def post(home: Home, path: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{home.port}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_fuzzing_the_live_api_finds_no_5xx_and_no_answer_off_schema(
    home: Home, start_daemon, tmp_path: Path
) -> None:
    home.write_config(twilio_block(None))  # dry-run, with MOBILE and a secret OFFICE
    daemon = start_daemon()
    in_a_week = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    for body in ({"to": 0, "daily": "07:00", "name": "wake"},
                 {"to": "OFFICE", "cron": "0 7 * * 1-5", "name": "weekdays"}, {"to": 1, "at": in_a_week}):
        assert post(home, "/v1/alarms", body) == 201
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(tmp_path / "schemathesis.toml"),
         "run", f"http://127.0.0.1:{home.port}/openapi.json",
         "--header", f"Authorization: Bearer {API_TOKEN}", "--checks", CHECKS,
         "--phases", "examples,fuzzing", "--max-examples", str(CASES_PER_OPERATION), "--seed", "4",
         "--generation-database", "none", "--workers", "1", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    summary = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert result.returncode == 0 and summary, result.stdout[-4000:] + result.stderr[-2000:]
    generated, passed = int(summary[1]), int(summary[2])
    assert 100 <= generated <= 400 and passed == generated
    assert "Tested: 19" in result.stdout  # every operation: /healthz, unskip, /v1/reload, the web sign-in ones
    log = daemon.log()
    assert "Traceback" not in log and " ERROR " not in log

