"""The web page's app: its routes, its errors as pages, its assets; mounted by the daemon beside the API.

The page owns only the paths owns() names; the daemon sends every other path (/v1/...,
/twilio/..., /healthz, /openapi.json) to the API, which never looks at a cookie. The
page's routes in turn take no bearer token: a session cookie and a CSRF token or nothing.
"""

from __future__ import annotations

import logging
import mimetypes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from alarmd.alarms.service import AlarmService
from alarmd.web import actions, history, home, login
from alarmd.web.gate import CsrfRefused, FormTooLarge, SignInNeeded
from alarmd.web.privacy import Privacy
from alarmd.web.render import page
from alarmd.web.state import Web

log = logging.getLogger("alarmd.web")

EXACT_PATHS = frozenset({"/", "/login", "/logout", "/history", "/alarms", "/favicon.ico"})
PATH_PREFIXES = ("/alarms/", "/numbers/", "/static/")

mimetypes.add_type("application/manifest+json", ".webmanifest")


def owns(path: str) -> bool:
    """Whether a request path is the page's (the daemon sends all others to the API)."""
    return path in EXACT_PATHS or path.startswith(PATH_PREFIXES)


class Assets(StaticFiles):
    """The page's files; their URLs carry a digest (render.asset), so they keep for a year."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def create_web_app(service: AlarmService, token: str) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    # Pages repeat the same markup per alarm; compressed, a hundred alarms stay small.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    web = Web(service, token, Privacy(lambda: service.phonebook))

    @app.exception_handler(SignInNeeded)
    async def _sign_in(_: Request, __: SignInNeeded) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return problem(request, 403, "This form is out of date or was not sent by this page; nothing was "
                                     "changed. Reload the page and try again.")

    @app.exception_handler(FormTooLarge)
    async def _too_large(request: Request, _: FormTooLarge) -> Response:
        return problem(request, 413, "That form is larger than any of this page's forms; nothing was changed.")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # Only addresses the page never makes get here (/alarms/abc/edit, ?before=x).
        in_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
        return problem(request, 404 if in_path else 400, "There is no such page." if in_path
                       else "That address is not one this page makes.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        sentence = "There is no such page." if exc.status_code == 404 else f"{exc.detail}."
        return problem(request, exc.status_code, sentence)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("web request failed: %s", type(exc).__name__, exc_info=exc)
        return problem(request, 500, "The daemon failed to answer this request; its log says why.")

    app.mount("/static", Assets(packages=[("alarmd.web", "static")]), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return RedirectResponse("/static/icon-192.png", status_code=301)

    for module in (login, home, actions, history):
        app.include_router(module.routes(web))
    return app


def problem(request: Request, status: int, sentence: str) -> Response:
    return page(request, "problem.html", status, title="alarmd", message=sentence)
