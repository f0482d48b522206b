"""The history page: calls newest first, paged, each with its outcome in words and its attempts."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from alarmd import clock
from alarmd.errors import BadInput
from alarmd.web import present
from alarmd.web.gate import require_session
from alarmd.web.render import page
from alarmd.web.state import Web

PAGE_SIZE = 25


def routes(web: Web) -> APIRouter:
    router = APIRouter()
    service = web.service

    @router.get("/history")
    def history(request: Request, before: int | None = Query(None, ge=1)) -> Response:
        require_session(service, request)
        zone = service.settings.timezone
        try:
            calls = service.history(limit=PAGE_SIZE, before=str(before) if before else None)
        except BadInput:
            raise HTTPException(404) from None
        now = clock.now()
        items = [present.call_item(web.privacy, c, zone, now) for c in calls]
        older = items[-1]["id"] if len(items) == PAGE_SIZE else None
        return page(request, "history.html", title="History", calls=items, older=older, zone=zone,
                    paged=before is not None)

    return router
