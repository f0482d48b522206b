"""The HTTP API: validate, call one service method, shape JSON. Nothing else.

Every error leaves as {"error": "one sentence"}; the bearer token is compared in
constant time; /healthz and /openapi.json need no token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from alarmd import __version__, clock
from alarmd.errors import BadInput, Conflict, LimitExceeded, NoSuchAlarm
from alarmd.service import AlarmInput, AlarmService


class ErrorBody(BaseModel):
    error: str


class NewAlarm(BaseModel):
    """A new alarm: exactly one of `at`, `daily` (with optional `days`) or `cron`."""

    model_config = ConfigDict(extra="forbid")

    to: int | str = Field(description="phoneNumbers index or name")
    at: str | None = Field(None, description="ISO 8601 instant (one-off)", max_length=100)
    daily: str | None = Field(None, description="HH:MM", max_length=5)
    days: str | None = Field(None, description='"mon-fri", "sat,sun", "weekdays"', max_length=40)
    cron: str | None = Field(None, description="5-field cron expression", max_length=200)
    tz: str | None = Field(None, description="IANA time zone", max_length=64)
    name: str | None = Field(None, max_length=100)
    grace_seconds: int | None = Field(None, ge=0, le=86_400)
    then: int | str | None = Field(None, description="fallback phoneNumbers index or name, rung when "
                                   "every call to `to` goes unanswered")
    ring_seconds: int | None = Field(None, ge=5, le=600, description="how long each call rings (default 60)")
    say: str | None = Field(None, max_length=4000, description="spoken instead of twilio.callingURI")
    redial_attempts: int | None = Field(None, ge=1, le=10, description="calls per number (alarmd.redial)")
    redial_interval_seconds: int | None = Field(None, ge=1, le=3600,
                                                description="between unanswered calls (alarmd.redial)")


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 422, 429)
}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message


def create_app(service: AlarmService, token: str, is_alive: Callable[[], bool]) -> FastAPI:
    app = FastAPI(title="alarmd", version=__version__, responses=ERRORS)

    def require_token(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "a valid bearer token is required (Authorization: Bearer TOKEN).")

    Auth = Depends(require_token)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": validation_sentence(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": f"{exc.detail}."}, status_code=exc.status_code)

    for error, status in ((NoSuchAlarm, 404), (Conflict, 409), (LimitExceeded, 429), (BadInput, 422)):
        app.add_exception_handler(error, _handler(status))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        alive = is_alive()
        body = {"status": "ok" if alive else "scheduler not running", "version": __version__,
                "mode": service.dialer.mode}
        # The trial number's at-risk warning: outside checks only read /healthz.
        warning = {"warning": service.keepalive_warning(clock.now())}
        return JSONResponse({**body, **warning}, status_code=200 if alive else 503)


    @app.post("/v1/alarms", status_code=201, dependencies=[Auth])
    def add_alarm(body: NewAlarm) -> dict[str, Any]:
        return service.add_alarm(AlarmInput(**body.model_dump()), clock.now())

    @app.get("/v1/alarms", dependencies=[Auth])
    def list_alarms() -> dict[str, Any]:
        return {"alarms": service.list_alarms()}

    @app.get("/v1/alarms/{ref}", dependencies=[Auth])
    def get_alarm(ref: str) -> dict[str, Any]:
        return service.get_alarm(ref)

    @app.delete("/v1/alarms/{ref}", dependencies=[Auth])
    def remove_alarm(ref: str) -> dict[str, Any]:
        return service.remove_alarm(ref)

    @app.get("/v1/calls", dependencies=[Auth])
    def calls(limit: Annotated[int, Query(ge=1, le=1000)] = 50,
              alarm: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
        return {"calls": service.history(limit=limit, alarm_ref=alarm)}

    @app.get("/v1/status", dependencies=[Auth])
    def daemon_status() -> dict[str, Any]:
        return service.status() | {"scheduler": "running" if is_alive() else "stopped"}

    return app


def _handler(status: int) -> Callable[[Request, Exception], Any]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": _sentence(str(exc))}, status_code=status)

    return handle


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def validation_sentence(exc: RequestValidationError) -> str:
    """The first problem pydantic found, as one sentence naming the field."""
    errors = exc.errors()
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return f"Unknown field {where!r}."
    if kind == "json_invalid":
        return "The body is not valid JSON."
    if kind == "missing":
        return f"{where or 'The body'} is required."
    return f"{where or 'The body'}: {first.get('msg', 'is not valid')}."
