"""Reading one checked value from a config block; a bad one raises ConfigError naming its key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from alarmd.errors import ConfigError


def boolean(block: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
    value = block.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {json.dumps(value)}.")
    return value


def whole(block: Mapping[str, Any], key: str, name: str, default: int, low: int,
          high: int | None = None) -> int:
    value = block.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected a whole number, got {json.dumps(value)}.")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{key}: {value} is out of range ({bounds}).")
    return value


def seconds(block: Mapping[str, Any], key: str, name: str, default: float, low: float,
            high: float) -> float:
    value = block.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: expected a number of seconds, got {json.dumps(value)}.")
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is out of range (from {low:g} to {high:g}).")
    return float(value)
