"""Logging: plain timestamped lines on stderr, or journald's own format under systemd.

When stderr is the journal (systemd says so in $JOURNAL_STREAM), journald adds the
timestamp itself and reads a "<N>" syslog priority at the start of each line, which is
what makes `journalctl -p warning -u alarmd` work. Every line of a multi-line record (a
traceback) carries the prefix, since journald files each line as its own entry.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import TextIO

from alarmd.digits import is_digits

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"

# Python level -> syslog priority (RFC 5424): CRITICAL 2, ERROR 3, WARNING 4, INFO 6, DEBUG 7.
SYSLOG_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
DEBUG_PRIORITY = 7

# These libraries narrate every job run, migration step and start-up at INFO;
# alarmd's own lines say what matters.
# twilio.http_client narrates every request (about ten lines) before sending it.
NOISY_LOGGERS = ("apscheduler", "alembic", "uvicorn.error", "twilio.http_client")


def not_an_overlap(record: logging.LogRecord) -> bool:
    """APScheduler warns whenever a job's run is dropped because its last one still runs.
    For the periodic jobs (the change log's read, the heartbeat) the next tick runs anyway,
    and an alarm's job is set again at once (daemon.scheduler): in a morning burst these
    lines would fill the journal while nothing is wrong."""
    return "maximum number of running instances reached" not in str(record.msg)


class JournalFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def syslog_priority(levelno: int) -> int:
    for level, priority in SYSLOG_PRIORITIES:
        if levelno >= level:
            return priority
    return DEBUG_PRIORITY


def stderr_is_journal(env: Mapping[str, str] | None = None, stream: TextIO | None = None) -> bool:
    """True when $JOURNAL_STREAM names the very file stderr is (its device:inode).

    Comparing, not just checking that the variable is set, keeps plain lines when a
    process started by systemd runs alarmd with stderr redirected elsewhere.
    """
    env = os.environ if env is None else env
    stream = sys.stderr if stream is None else stream
    device, _, inode = env.get("JOURNAL_STREAM", "").partition(":")
    if not is_digits(device) or not is_digits(inode):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def configure(level: int = logging.INFO, env: Mapping[str, str] | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    journal = stderr_is_journal(env, sys.stderr)
    handler.setFormatter(JournalFormatter() if journal else logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    # Same effect as logging.basicConfig (first configuration wins), with our formatter.
    if not root.handlers:
        root.addHandler(handler)
        root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not_an_overlap not in scheduler_log.filters:
        scheduler_log.addFilter(not_an_overlap)
    # A thread that dies (the scheduler's, say) would otherwise print its traceback
    # straight to stderr, unprefixed, which journald files as an ordinary info line.
    threading.excepthook = log_thread_death


def log_thread_death(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    if args.exc_value is None:
        logging.getLogger("alarmd").critical("thread %s died (%s)", name, args.exc_type.__name__)
        return
    logging.getLogger("alarmd").critical(
        "thread %s died", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
