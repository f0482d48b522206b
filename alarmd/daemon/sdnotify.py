"""The sd_notify protocol without a dependency: one AF_UNIX datagram per message.

systemd passes the socket in $NOTIFY_SOCKET (a path, or '@name' for an abstract
socket) and the watchdog period in $WATCHDOG_USEC (for the process in $WATCHDOG_PID,
when set). Outside systemd nothing is set and every call is a no-op, so the daemon
runs the same from a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from alarmd import clock

log = logging.getLogger("alarmd.sdnotify")


@dataclass(frozen=True)
class Notifier:
    address: str | bytes | None = None
    watchdog_usec: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, pid: int | None = None) -> Notifier:
        # These variables are the service manager's protocol with this process, not
        # configuration, so they are read here rather than in config.py.
        env = os.environ if env is None else env
        address = _address(env.get("NOTIFY_SOCKET", ""))
        watchdog = _watchdog_usec(env, os.getpid() if pid is None else pid) if address else None
        return cls(address, watchdog)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings (half the period, as sd_watchdog_enabled advises)."""
        return self.watchdog_usec / 2_000_000 if self.watchdog_usec else None

    def send(self, *assignments: str) -> bool:
        """Send "KEY=value" lines as one datagram; False if there is nobody to tell."""
        if self.address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(payload)
        except OSError as exc:
            # A lost notification must never stop the daemon; if it was a watchdog ping,
            # systemd acts on the silence anyway.
            log.debug("sd_notify to %r failed: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def reloading(self, status: str = "reloading the config") -> bool:
        # MONOTONIC_USEC is what systemd 253+ (Type=notify-reload) wants beside RELOADING=1;
        # older ones ignore it. READY=1 ends the reload, whatever its outcome.
        usec = int(clock.monotonic() * 1_000_000)
        return self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")


def _address(value: str) -> str | bytes | None:
    if value.startswith("@"):
        # Abstract namespace: a leading NUL byte instead of the '@'.
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    # Empty, or a transport we do not speak (vsock:...): stay silent.
    return None


def _watchdog_usec(env: Mapping[str, str], pid: int) -> int | None:
    owner = env.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None  # meant for another process (e.g. our parent)
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None
