"""The suite's own hygiene: a test stopped by pytest-timeout leaves no daemon running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.system

STUCK = '''
import os, time
from pathlib import Path
import pytest
from tests.conftest import Daemon, Home, twilio_block

@pytest.mark.system
def test_stuck_with_a_daemon_running():
    home = Home.made_in(Path(os.environ["STUCK_HOME"]))
    home.write_config(twilio_block(None))
    daemon = Daemon(home)
    Path(os.environ["STUCK_HOME"], "pid").write_text(str(daemon.proc.pid))
    time.sleep(120)
'''


def processes_of(config: Path) -> list[int]:
    """Pids of this user's processes whose environment names `config` as ALARMD_CONFIG."""
    needle = f"ALARMD_CONFIG={config}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:  # gone meanwhile, or not ours
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
    return found


def test_a_test_stopped_by_pytest_timeout_leaves_no_daemon_behind(tmp_path: Path) -> None:
    stuck = tmp_path / "test_stuck.py"
    stuck.write_text(STUCK)
    root = tmp_path / "stuck"
    root.mkdir()
    # 8 s: time for the daemon to start on a loaded machine before the timeout stops the test.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(REPO / "pyproject.toml"),
         "-o", "addopts=", "--timeout", "8", "-p", "tests.conftest", str(stuck)],
        cwd=REPO, env={**os.environ, "STUCK_HOME": str(root)}, capture_output=True, text=True, timeout=90)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Timeout" in result.stdout, result.stdout
    pid = int((root / "pid").read_text())  # the daemon was up when the timeout struck
    survivors = processes_of(root / "config.json")
    for survivor in survivors:  # so that a failure here does not itself leave one running
        os.kill(survivor, signal.SIGKILL)
    assert survivors == []
    assert not Path(f"/proc/{pid}").exists()
