"""Durations as people type them on the command line: "45s", "3m", "1m30s", "2h", "90"."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)\s*(min|sec|h|m|s)?", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600, "m": 60, "min": 60, "s": 1, "sec": 1, None: 1}


def parse_duration(text: str) -> int:
    """Whole seconds. A bare number is seconds. Raises ValueError with a sentence."""
    cleaned = text.strip().lower()
    total, position = 0, 0
    for match in _PART.finditer(cleaned):
        if match.start() != position and cleaned[position:match.start()].strip():
            break
        total += int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not cleaned or cleaned[position:].strip():
        raise ValueError(f"{text!r} is not a duration like 45s, 3m or 1m30s.")
    return total
