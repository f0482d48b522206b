"""Log lines: journald's format when stderr is the journal, plain lines otherwise."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alarmd.daemon.logs import JournalFormatter, configure, stderr_is_journal, syslog_priority
from tests.conftest import AUTH_TOKEN, Home, spawn, twilio_block

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def run_daemon_briefly(home: Home, log_path: Path, journal_stream: str | None) -> str:
    """Start `alarmd run` with stderr on `log_path`, wait until it listens, stop it."""
    with log_path.open("w") as log:
        st = os.fstat(log.fileno())
        env = {"JOURNAL_STREAM": journal_stream or f"{st.st_dev}:{st.st_ino}"}
        proc = spawn([sys.executable, "-m", "alarmd", "run"], env=home.env(**env),
                     stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(400):
            if "listening on" in log_path.read_text() or proc.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0, log_path.read_text()
    return log_path.read_text()


@pytest.mark.system
def test_under_journald_each_line_has_a_priority_and_no_timestamp(home: Home) -> None:
    home.write_config(twilio_block(None))  # dry-run, with an authToken in the file
    home.config_path.chmod(0o644)
    text = run_daemon_briefly(home, home.root / "journal.log", journal_stream=None)
    lines = text.splitlines()
    assert lines, text
    for line in lines:
        assert re.match(r"<[2-7]>", line), line
        assert not TIMESTAMP.search(line), line
    assert any(line.startswith("<4>alarmd: alarmd ") and "DRY-RUN" in line for line in lines), text
    assert any(line.startswith("<6>alarmd: listening on http://127.0.0.1:") for line in lines), text
    exposed = [line for line in lines if "readable by every user" in line]
    assert len(exposed) == 1 and exposed[0].startswith("<4>alarmd: "), text
    assert "/etc/alarmd/twilio-auth-token" in exposed[0] and "LoadCredential" in exposed[0]
    assert AUTH_TOKEN not in text


@pytest.mark.system
def test_plain_lines_when_stderr_is_not_the_journal(home: Home) -> None:
    home.write_config(twilio_block(None))
    home.config_path.chmod(0o600)  # not readable by others: no warning
    elsewhere = os.stat(home.config_path)  # systemd's journal stream, but stderr went elsewhere
    text = run_daemon_briefly(home, home.root / "plain.log",
                              journal_stream=f"{elsewhere.st_dev}:{elsewhere.st_ino}")
    lines = text.splitlines()
    assert lines and all(TIMESTAMP.match(line) for line in lines), text
    assert any(" WARNING alarmd: alarmd " in line and "DRY-RUN" in line for line in lines), text
    assert not any(re.match(r"<\d>", line) for line in lines)
    assert "readable by every user" not in text


def test_every_line_of_a_traceback_carries_the_priority() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("alarmd.scheduler", logging.ERROR, __file__, 1,
                                   "alarm %s could not be run", (7,), sys.exc_info())
    lines = JournalFormatter().format(record).splitlines()
    assert lines[0] == "<3>alarmd.scheduler: alarm 7 could not be run"
    assert len(lines) > 3 and all(line.startswith("<3>") for line in lines)
    assert lines[-1] == "<3>ValueError: boom"


def test_syslog_priorities() -> None:
    assert [syslog_priority(level) for level in (50, 40, 30, 20, 10, 5)] == [2, 3, 4, 6, 7, 7]


def test_journal_stream_must_name_stderr_itself(tmp_path: Path) -> None:
    with (tmp_path / "f").open("w") as stream:
        st = os.fstat(stream.fileno())
        assert stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, stream)
        assert not stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, stream)
        assert not stderr_is_journal({"JOURNAL_STREAM": "garbage"}, stream)
        assert not stderr_is_journal({}, stream)


def test_apschedulers_warning_of_a_dropped_overlapping_run_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    configure()
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    with caplog.at_level(logging.WARNING):
        scheduler_log.warning('Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                              "changes", 1)
        scheduler_log.warning('Run time of job "%s" was missed by %s', "changes", "0:00:01")
    assert [r.getMessage() for r in caplog.records] == ['Run time of job "changes" was missed by 0:00:01']
