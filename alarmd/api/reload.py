"""POST /v1/reload: read the config again, and answer once it is in force or refused.

Synchronous, so `alarmd config reload` (and systemd's ExecReload=, which runs it) can
report a broken file as a failure: 422 with the file's one sentence, while the daemon
runs on with the old config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from alarmd.errors import ConfigError


class ReloadOut(BaseModel):
    config: str | None  # the file read, or null when there is none (defaults)
    mode: str
    dry_run_reason: str | None
    numbers: int
    changed: list[str]  # config keys whose values changed
    needs_restart: list[str]  # one sentence per change only a restart can make
    notes: list[str]


class ReloadError(BaseModel):
    error: str


def add_reload_route(app: FastAPI, reload: Callable[[], dict[str, Any]], auth: Any) -> None:
    @app.exception_handler(ConfigError)
    async def _refused(_: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"error": f"The config was not reloaded: {exc}"}, status_code=422)

    @app.post("/v1/reload", dependencies=[auth], response_model=ReloadOut,
              responses={422: {"model": ReloadError, "description": "the file does not load; the old config "
                                                                   "stays in force"}})
    def reload_config() -> JSONResponse:
        """Re-read the config file, the environment the daemon started with, and the credentials."""
        return JSONResponse(reload())
