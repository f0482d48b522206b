"""Signing in: the API token on /login, or a one-time link from `alarmd web`; and signing out.

Wrong tokens and dead links from one address are counted (alarmd.web.throttle); past
the limit every try gets 429 with Retry-After, at once, before the token is compared.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from alarmd import clock
from alarmd.web import gate
from alarmd.web.render import page
from alarmd.web.state import Web

WRONG_TOKEN = "That is not the API token; it is in the api-token file beside the config or in the state directory."
DEAD_LINK = "This sign-in link has expired or was already used; run `alarmd web` for a new one."
LOGIN_COOKIE_SECONDS = 3600


def address(request: Request) -> str:
    # Behind alarmd.trustProxy, uvicorn has put the proxy's X-Forwarded-For here.
    return request.client.host if request.client else "unknown"


def routes(web: Web) -> APIRouter:
    router = APIRouter()
    service = web.service

    def form_page(request: Request, status: int = 200, error: str | None = None,
                  headers: dict[str, str] | None = None) -> Response:
        token = request.cookies.get(gate.LOGIN_COOKIE) or gate.new_login_token()
        response = page(request, "login.html", status, title="Sign in", error=error, login_token=token)
        gate.set_cookie(response, request, gate.LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)
        response.headers.update(headers or {})
        return response

    def throttled(request: Request) -> Response | None:
        wait = web.sign_ins.retry_after(address(request), clock.now())
        if wait is None:
            return None
        return form_page(request, 429, f"Too many wrong tries from this address; try again in {wait} s.",
                         {"Retry-After": str(wait)})

    def signed_in(request: Request, session_id: str) -> Response:
        web.sign_ins.forget(address(request))
        response = RedirectResponse("/", status_code=303)
        gate.keep_session(response, request, session_id)
        response.delete_cookie(gate.LOGIN_COOKIE, path="/")
        return response

    @router.get("/login")
    def login_page(request: Request, code: str | None = None) -> Response:
        if code is None:
            if service.web_session_valid(gate.session_id(request), clock.now()):
                return RedirectResponse("/", status_code=303)
            return form_page(request)
        refused = throttled(request)
        if refused is not None:
            return refused
        session_id = service.redeem_sign_in_link(code[:200], clock.now())
        if session_id is None:
            web.sign_ins.record(address(request), clock.now())
            return form_page(request, 400, DEAD_LINK)
        return signed_in(request, session_id)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await gate.read_form(request)
        given = form.get("token")
        if not gate.login_valid(request.cookies.get(gate.LOGIN_COOKIE), _text(form.get(gate.CSRF_FIELD))):
            raise gate.CsrfRefused()
        return await run_in_threadpool(check_token, request, _text(given) or "")

    def check_token(request: Request, given: str) -> Response:
        refused = throttled(request)
        if refused is not None:
            return refused
        if not hmac.compare_digest(given.strip().encode(), web.token.encode()):
            web.sign_ins.record(address(request), clock.now())
            return form_page(request, 401, WRONG_TOKEN)
        return signed_in(request, service.open_web_session(clock.now()))

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await gate.posted(service, request)
        await run_in_threadpool(service.close_web_session, gate.session_id(request))
        response = RedirectResponse("/login", status_code=303)
        gate.drop_session(response, request)
        return response

    return router


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
