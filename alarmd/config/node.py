"""This node's identity: a random id kept in its state directory, locked while the daemon runs.

Several nodes share one database, and cloned Raspberry Pis all share a host name, so
a node is known by this id, never by host name and pid. The daemon holds an exclusive
lock on the file for as long as it runs: a second daemon on the same state directory is
refused, and a lease owned by this node id but by another run is therefore a run that
has ended (alarmd.calls.lease takes it over at once after a restart).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from pathlib import Path

from alarmd.errors import ConfigError

NODE_FILENAME = "node-id"
_held: list[int] = []  # the locked files' descriptors, open for the life of the process


def claim_node_id(state_dir: Path) -> str:
    """Read (or make) this node's id and lock it; ConfigError when another daemon holds it."""
    path = state_dir / NODE_FILENAME
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"the state directory {state_dir}: cannot keep the node id there ({exc.strerror}).") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"another alarmd is already running with the state directory {state_dir}.") from None
    text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    if not re.fullmatch(r"[0-9a-f]{16}", text):
        text = secrets.token_hex(8)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{text}\n".encode(), 0)
        os.fsync(fd)
    _held.append(fd)
    return text
