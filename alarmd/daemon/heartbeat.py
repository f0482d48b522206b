"""The dead-man's switch: pings to alarmd.heartbeat.url, following healthchecks.io's conventions.

`GET URL/start` when the daemon starts; `GET URL` every alarmd.heartbeat.everySeconds
while the scheduler's loop runs and the database takes a write; `POST URL/fail` with a
one-line reason as its body when a call fails for good, when the database is
unavailable, or when the daemon stops on an error. The service alerts when the pings
stop, which is how a daemon that died, hangs, or was given up on by systemd is noticed
before anyone oversleeps.

Pings leave from a thread of their own through a small queue, with a short timeout and
no retries (the next ping is the retry): a ping never blocks or delays a call. Reasons
are masked by the caller's `redact` (secret digits, tokens) and cut to one line.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from alarmd import __version__
from alarmd.config.settings import HeartbeatSettings

log = logging.getLogger("alarmd.heartbeat")

PING_TIMEOUT_SECONDS = 5.0
# Pings waiting to be sent; beyond it new ones are dropped (the service is down or slow,
# and a queue of stale pings would say nothing new).
QUEUE_SIZE = 16
MAX_REASON = 500  # characters of a /fail body


class Heartbeat:
    def __init__(self, settings: HeartbeatSettings, redact: Callable[[str], str] = str):
        self.url = settings.url
        self.every_seconds = settings.every_seconds
        self.redact = redact
        self._queue: queue.Queue[tuple[str, bytes | None] | None] = queue.Queue(QUEUE_SIZE)
        self._sender: threading.Thread | None = None
        self._unreachable: str | None = None  # the last delivery failure logged, so it is logged once
        self._problem: str | None = None  # what the periodic check last found wrong

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def where(self) -> str:
        """The check's host, for the log: the full URL is all it takes to ping it."""
        return urlsplit(self.url).netloc if self.url else "nowhere"

    def describe(self) -> str:
        if self.url is None:
            return "off (alarmd.heartbeat.url is not set)"
        return f"pinging {self.where()} every {self.every_seconds} s"

    def start(self) -> None:
        """Start the sending thread and signal the start; nothing at all without a URL."""
        if self.url is None:
            return
        self._sender = threading.Thread(target=self._send_all, name="heartbeat", daemon=True)
        self._sender.start()
        self._put("/start", None)

    def beat(self) -> None:
        self._put("", None)

    def fail(self, reason: str) -> None:
        text = " ".join(self.redact(reason).split())[:MAX_REASON]
        self._put("/fail", text.encode())

    def check(self, problem: Callable[[], str | None]) -> None:
        """The periodic job: a success ping if nothing is wrong, else /fail with what is."""
        found = problem()
        if found != self._problem:
            # Logged when it starts and when it ends, not once a period.
            if found is not None:
                log.warning("heartbeat: %s", self.redact(found))
            else:
                log.info("heartbeat: the problem is over (%s)", self.redact(self._problem or ""))
            self._problem = found
        if found is None:
            self.beat()
        else:
            self.fail(found)

    def stop(self, timeout: float) -> None:
        """Send what is queued (for at most `timeout` seconds), then end the thread."""
        if self._sender is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            # The check does not answer: what is left would be stale anyway.
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
        self._sender.join(timeout)

    # --- the sending thread ---------------------------------------------------------

    def _put(self, suffix: str, body: bytes | None) -> None:
        if self._sender is None:
            return
        try:
            self._queue.put_nowait((suffix, body))
        except queue.Full:
            log.debug("heartbeat: queue full, ping dropped")

    def _send_all(self) -> None:
        while (item := self._queue.get()) is not None:
            self._send(*item)

    def _send(self, suffix: str, body: bytes | None) -> None:
        assert self.url is not None
        # Imported here, on the sending thread: a daemon with no heartbeat URL (most) never needs it.
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.url + suffix, data=body, method="POST" if body is not None else "GET",
                                         headers={"User-Agent": f"alarmd/{__version__}",
                                                  "Content-Type": "text/plain; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=PING_TIMEOUT_SECONDS) as answer:
                answer.read(1024)
        except (OSError, ValueError) as exc:
            reason = f"{type(exc).__name__}" + (f" {exc.code}" if isinstance(exc, urllib.error.HTTPError) else "")
            if reason != self._unreachable:
                log.warning("heartbeat: could not ping %s (%s); the next ping is the retry", self.where(), reason)
            self._unreachable = reason
            return
        if self._unreachable is not None:
            log.info("heartbeat: %s answers again", self.where())
        self._unreachable = None
