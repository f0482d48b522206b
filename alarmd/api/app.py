"""The HTTP API: validate, call one service method, shape JSON. Nothing else.

Every error leaves as {"error": "one sentence"}; the bearer token is compared in
constant time; /healthz and /openapi.json need no token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from alarmd import __version__, clock
from alarmd.alarms.inputs import AlarmInput, SkipDays
from alarmd.alarms.service import AlarmService
from alarmd.api.errors import DATABASE_RETRY_AFTER, ApiError, install_error_handlers
from alarmd.api.guard import UNAUTHORIZED, RequestGuard, token_matches
from alarmd.api.idempotency import MAX_KEY_LENGTH, IdempotencyStore, fingerprint
from alarmd.api.models import (
    AlarmFireTimes,
    AlarmList,
    AlarmOut,
    AllFireTimes,
    CallList,
    DialBody,
    HealthOut,
    NumberList,
    OccurrenceOut,
    PauseBody,
    SkipBody,
    SkippedOut,
    StatusOut,
    UnskippedOut,
)
from alarmd.api.reload import add_reload_route
from alarmd.api.websignin import web_signin_routes
from alarmd.store import trouble
from alarmd.store.trouble import database_trouble


class ErrorBody(BaseModel):
    error: str


class NewAlarm(BaseModel):
    """A new alarm: exactly one of `at`, `daily` (with optional `days`) or `cron`."""

    model_config = ConfigDict(extra="forbid")

    # Strict: JSON true or 1.0 must not quietly become phone number 1.
    to: StrictInt | StrictStr = Field(description="phoneNumbers index or name")
    at: str | None = Field(None, description="ISO 8601 instant (one-off)", max_length=100)
    daily: str | None = Field(None, description="HH:MM", max_length=5)
    days: str | None = Field(None, description='"mon-fri", "sat,sun", "weekdays"', max_length=40)
    cron: str | None = Field(None, description="5-field cron expression", max_length=200)
    tz: str | None = Field(None, description="IANA time zone", max_length=64)
    name: str | None = Field(None, max_length=100)
    # Strict ints too: JSON true is not 1 second of grace.
    grace_seconds: StrictInt | None = Field(None, ge=0, le=86_400)
    then: StrictInt | StrictStr | None = Field(None, description="fallback phoneNumbers index or name, rung when "
                                   "every call to `to` goes unanswered")
    ring_seconds: StrictInt | None = Field(None, ge=5, le=600, description="how long each call rings (default 60)")
    say: str | None = Field(None, max_length=4000, description="spoken instead of twilio.callingURI")
    redial_attempts: StrictInt | None = Field(None, ge=1, le=10, description="calls per number (alarmd.redial)")
    redial_interval_seconds: StrictInt | None = Field(None, ge=1, le=3600,
                                                description="between unanswered calls (alarmd.redial)")
    # Strict: "yes" or 1 is refused rather than guessed at.
    require_human: StrictBool | None = Field(None, description="ring with answering machine detection; a "
                                             "machine is not an answer (default alarmd.redial.requireHuman)")


class AlarmChanges(NewAlarm):
    """Any subset of a new alarm's fields; the others keep their values. null puts a field back
    to its default (`name` removed, `then` no fallback, `grace_seconds` the configured one, ...)."""

    # Narrowing a field in a subclass is what mypy objects to; pydantic supports it, and
    # subclassing keeps every field a later feature adds to NewAlarm editable.
    to: StrictInt | StrictStr | None = Field(None, description="phoneNumbers index or name")  # type: ignore[assignment]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 422, 429, 503)
}
BEARER = HTTPBearer(auto_error=False, description="The API token: alarmd.apiToken, ALARMD_API_TOKEN, "
                    "the api-token credential, or the file the daemon made in its state directory.")
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=MAX_KEY_LENGTH,
    description="A retry with the same key and body within 24 h gets the first answer and does "
                "nothing again; the same key with another body is 409.")]
Ref = Annotated[str, Path(max_length=100, description="the alarm's id or name")]
Count = Annotated[int, Query(ge=1, le=100)]


def create_app(service: AlarmService, token: str, is_alive: Callable[[], bool],
               reload: Callable[[], dict[str, Any]] | None = None) -> FastAPI:
    app = FastAPI(title="alarmd", version=__version__, responses=ERRORS)
    app.add_middleware(RequestGuard, token=token)
    idempotency = IdempotencyStore(service.sessions)

    def require_token(request: Request,
                      _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
        # RequestGuard has already checked; this declares the scheme in /openapi.json and
        # keeps the routes closed should the guard ever be taken away.
        if not token_matches(request.headers.get("authorization", ""), token):
            raise ApiError(401, UNAUTHORIZED)

    Auth = Depends(require_token)
    install_error_handlers(app)

    def once(key: str | None, request: Request, payload: Any,
             run: Callable[[], tuple[int, dict[str, Any]]]) -> JSONResponse:
        """Run a request that changes something, or replay the first answer to its Idempotency-Key."""
        if not key:
            status, body = run()
            return JSONResponse(body, status_code=status)
        digest = fingerprint(request.method, request.url.path, payload)
        replay = idempotency.begin(key, digest, clock.now())
        if replay is not None:
            return JSONResponse(replay.body, status_code=replay.status_code,
                                headers={"Idempotent-Replayed": "true"})
        try:
            status, body = run()
        except BaseException:
            idempotency.abandon(key)
            raise
        idempotency.finish(key, status, body)
        return JSONResponse(body, status_code=status)

    @app.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
    def healthz() -> JSONResponse:
        alive = is_alive()
        body = {"status": "ok" if alive else "scheduler not running", "version": __version__,
                "mode": service.dialer.mode}
        # Outside checks only read /healthz: the trial number's at-risk warning, alarms that
        # would call nobody, a skewed clock. A warning is not a failure: still 200.
        now = clock.now()
        try:
            cause = trouble.current()
            keepalive = service.keepalive_warning(now)
            warnings = ([keepalive] if keepalive else []) + service.warnings() + service.cluster_warnings(now)
            warning = {"warning": "; ".join(warnings) or None, "warnings": warnings}
        except Exception as exc:
            cause = database_trouble(exc)
            if cause is None:
                raise
        if cause is not None:
            # Up, but unable to claim or record a call: outside checks must hear it.
            return JSONResponse({**body, "status": f"database unavailable: {cause}"}, status_code=503,
                                headers={"Retry-After": str(DATABASE_RETRY_AFTER)})
        return JSONResponse({**body, **warning}, status_code=200 if alive else 503)

    @app.post("/v1/alarms", status_code=201, dependencies=[Auth], response_model=AlarmOut)
    def add_alarm(body: NewAlarm, request: Request, key: IdempotencyKey = None) -> JSONResponse:
        payload = body.model_dump(exclude_unset=True)
        return once(key, request, payload,
                    lambda: (201, service.add_alarm(AlarmInput(**body.model_dump()), clock.now())))

    @app.get("/v1/alarms", dependencies=[Auth], response_model=AlarmList)
    def list_alarms() -> JSONResponse:
        return JSONResponse({"alarms": service.list_alarms()})

    @app.get("/v1/alarms/{ref}", dependencies=[Auth], response_model=AlarmOut)
    def get_alarm(ref: Ref) -> JSONResponse:
        return JSONResponse(service.get_alarm(ref))

    @app.patch("/v1/alarms/{ref}", dependencies=[Auth], response_model=AlarmOut)
    def edit_alarm(ref: Ref, body: AlarmChanges, request: Request, key: IdempotencyKey = None) -> JSONResponse:
        # null clears a field back to its default (README); the service refuses it where none exists.
        changes = body.model_dump(exclude_unset=True)
        return once(key, request, changes, lambda: (200, service.edit_alarm(ref, changes, clock.now())))

    @app.delete("/v1/alarms/{ref}", dependencies=[Auth], response_model=AlarmOut)
    def remove_alarm(ref: Ref, request: Request, key: IdempotencyKey = None) -> JSONResponse:
        return once(key, request, None, lambda: (200, service.remove_alarm(ref)))

    @app.post("/v1/alarms/{ref}/pause", dependencies=[Auth], response_model=AlarmOut)
    def pause_alarm(ref: Ref, request: Request, body: PauseBody | None = None,
                    key: IdempotencyKey = None) -> JSONResponse:
        until = body.until if body else None
        return once(key, request, {"until": until},
                    lambda: (200, service.pause_alarm(ref, until, clock.now())))

    @app.post("/v1/alarms/{ref}/resume", dependencies=[Auth], response_model=AlarmOut)
    def resume_alarm(ref: Ref, request: Request, key: IdempotencyKey = None) -> JSONResponse:
        return once(key, request, None, lambda: (200, service.resume_alarm(ref, clock.now())))

    def on_days(act: Callable[[str, SkipDays, datetime], dict[str, Any]], ref: str, request: Request,
                body: SkipBody | None, key: str | None) -> JSONResponse:
        days = body.days() if body else SkipDays()
        payload = body.model_dump(by_alias=True) if body else None
        return once(key, request, payload, lambda: (200, act(ref, days, clock.now())))

    @app.post("/v1/alarms/{ref}/skip", dependencies=[Auth], response_model=SkippedOut)
    def skip_alarm(ref: Ref, request: Request, body: SkipBody | None = None,
                   key: IdempotencyKey = None) -> JSONResponse:
        """Skip the next ring, those of a local date (`on`), or of a range (`from`, `to`)."""
        return on_days(service.skip_alarm, ref, request, body, key)

    @app.post("/v1/alarms/{ref}/unskip", dependencies=[Auth], response_model=UnskippedOut)
    def unskip_alarm(ref: Ref, request: Request, body: SkipBody | None = None,
                     key: IdempotencyKey = None) -> JSONResponse:
        """Take back the soonest skip, or those of a local date (`on`) or a range (`from`, `to`)."""
        return on_days(service.unskip_alarm, ref, request, body, key)

    @app.get("/v1/alarms/{ref}/next", dependencies=[Auth], response_model=AlarmFireTimes)
    def alarm_next(ref: Ref, count: Count = 5) -> JSONResponse:
        return JSONResponse(service.upcoming(ref, count))

    @app.get("/v1/next", dependencies=[Auth], response_model=AllFireTimes)
    def all_next(count: Count = 5) -> JSONResponse:
        return JSONResponse({"fire_times": service.upcoming_all(count)})

    @app.get("/v1/calls", dependencies=[Auth], response_model=CallList)
    def calls(limit: Annotated[int, Query(ge=1, le=1000)] = 50,
              alarm: Annotated[str | None, Query(max_length=100)] = None,
              before: Annotated[str | None, Query(
                  max_length=100, description="a call id (the last of the previous page) or an ISO 8601 "
                                              "instant: only older calls")] = None) -> JSONResponse:
        found = service.history(limit=limit, alarm_ref=alarm, before=before)
        more = str(found[-1]["id"]) if len(found) == limit else None
        return JSONResponse({"calls": found, "next_before": more})

    @app.get("/v1/status", dependencies=[Auth], response_model=StatusOut)
    def daemon_status() -> JSONResponse:
        return JSONResponse(service.status() | {"scheduler": "running" if is_alive() else "stopped"})

    @app.get("/v1/numbers", dependencies=[Auth], response_model=NumberList)
    def numbers() -> JSONResponse:
        return JSONResponse({"numbers": service.numbers()})

    @app.post("/twilio/{x}", status_code=202, dependencies=[Auth], response_model=OccurrenceOut,
              responses={201: {"model": AlarmOut, "description": "with `at`: the one-off alarm scheduled"},
                         429: {"model": ErrorBody, "description": "the cost guard refused the call",
                               "headers": {"Retry-After": {"description": "seconds until a call is allowed",
                                                           "schema": {"type": "integer"}}}}})
    def dial(x: Annotated[str, Path(max_length=100, description="phoneNumbers index or name")],
             request: Request, body: DialBody | None = None, key: IdempotencyKey = None) -> JSONResponse:
        """Dial phoneNumbers[x] now, as NMO's /twilio/x action does (202 with the call);
        with `at`, schedule a one-off alarm to it instead (201 with the alarm)."""
        at = body.at if body else None

        def run() -> tuple[int, dict[str, Any]]:
            if at is not None:
                return 201, service.add_alarm(AlarmInput(to=x, at=at), clock.now())
            return 202, service.dial_now(x, clock.now())

        return once(key, request, {"at": at}, run)

    app.include_router(web_signin_routes(service, Auth))
    if reload is not None:
        add_reload_route(app, reload, Auth)
    return app
