"""The API's side of the web page's sign-in, for `alarmd web`: a one-time link, and signing out everyone.

Behind the bearer token like every /v1 path: whoever may use the API may sign a browser
in. The daemon does not know under which address a browser reaches it (loopback, a LAN
name, a proxy), so the link is a path; the CLI puts its own address in front.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from alarmd import clock
from alarmd.alarms.service import AlarmService
from alarmd.api.models import Open

LINK_PATH = "/login?code="


class SignInLinkOut(Open):
    path: str = Field(description="the page's one-time sign-in link, without scheme and host")
    expires_at: str = Field(description="ISO UTC; the link works once, until then")


class SignedOutOut(Open):
    signed_out: int = Field(description="how many sessions were revoked")


def web_signin_routes(service: AlarmService, auth: Any) -> APIRouter:
    router = APIRouter(dependencies=[auth])

    @router.post("/v1/web/links", status_code=201, response_model=SignInLinkOut)
    def sign_in_link() -> JSONResponse:
        """A link that signs one browser in to the web page, once, within 10 minutes."""
        code, expires = service.issue_sign_in_link(clock.now())
        return JSONResponse({"path": LINK_PATH + code, "expires_at": expires.isoformat()}, status_code=201)

    @router.delete("/v1/web/sessions", response_model=SignedOutOut)
    def sign_out_all() -> JSONResponse:
        """Revoke every web page session (and every unused sign-in link)."""
        return JSONResponse({"signed_out": service.sign_out_all_web_sessions()})

    return router


