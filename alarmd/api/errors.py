"""How every failure leaves the API: {"error": "one sentence"} with its status, never a traceback.

Bad input is 400 or 422, an unknown alarm 404, a conflict 409, the cost guard 429 with
Retry-After, an unavailable database 503 with Retry-After naming the cause; anything
else is a bug: 500, and the log says why.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from alarmd.calls.costguard import CallLimitReached
from alarmd.errors import BadInput, Conflict, LimitExceeded, NoSuchAlarm
from alarmd.store import trouble
from alarmd.store.trouble import database_trouble

log = logging.getLogger("alarmd.api")
# Seconds a client should wait after a 503 for an unavailable database.
DATABASE_RETRY_AFTER = 5


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = any(e.get("type") == "json_invalid" for e in exc.errors())
        return JSONResponse({"error": _sentence(validation_sentence(exc))},
                            status_code=400 if malformed else 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": f"{exc.detail}."}, status_code=exc.status_code)

    for error, status in ((NoSuchAlarm, 404), (Conflict, 409), (LimitExceeded, 429), (BadInput, 422)):
        app.add_exception_handler(error, _handler(status))

    @app.exception_handler(CallLimitReached)
    async def _limit(_: Request, exc: CallLimitReached) -> JSONResponse:
        return JSONResponse({"error": _sentence(str(exc))}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after_seconds)})

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        cause = database_trouble(exc)
        if cause is None:
            return await _unexpected(request, exc)
        log.warning("%s %s: %s", request.method, request.url.path, cause)
        trouble.noticed(cause)
        return JSONResponse({"error": _sentence(f"{cause}; nothing was changed, try again in a few seconds.")},
                            status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})

    # The driver's own errors too: SQLite's commit runs on the raw connection (store/sqlite.py).
    # Registered by class, not under Exception, so no traceback follows a 503 into the log.
    for database_error in (DBAPIError, sqlite3.Error):
        app.add_exception_handler(database_error, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("request failed: %s", type(exc).__name__, exc_info=exc)
        return JSONResponse({"error": "The daemon failed to answer this request; its log says why."},
                            status_code=500)


def validation_sentence(exc: RequestValidationError) -> str:
    """The first problem pydantic found, as one sentence naming the field."""
    errors = exc.errors()
    if not errors:
        return "The request is not valid."
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    if len(loc) > 1 and loc[-1] in ("int", "str"):
        # pydantic names the union member that failed last; `to` is an index or a name.
        return f"{'.'.join(loc[:-1])}: expected a whole number (an index) or a string (a name)."
    where = ".".join(loc)
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return f"Unknown field {where!r}."
    if kind == "json_invalid":
        return "The body is not valid JSON."
    if kind == "missing":
        return f"{where or 'The body'} is required."
    return f"{where or 'The body'}: {first.get('msg', 'is not valid')}."


def _handler(status: int) -> Callable[[Request, Exception], Any]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": _sentence(str(exc))}, status_code=status)

    return handle


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]
