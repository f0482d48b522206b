"""The buttons: skip next (or days), unskip, pause (for good, or until a date: both on a page of
their own), resume, delete (once confirmed), test call.

Each is a plain form post that redirects back to the alarm; what the service refuses is
shown on the page in its own sentence, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from alarmd import clock
from alarmd.alarms.service import SkipDays
from alarmd.errors import BadInput, LimitExceeded, NoSuchAlarm
from alarmd.web.gate import posted, require_session
from alarmd.web.home import alarm_or_404, sentence
from alarmd.web.render import page
from alarmd.web.state import Web


def routes(web: Web) -> APIRouter:
    router = APIRouter()
    service = web.service

    def refused(request: Request, exc: Exception, status: int, headers: dict[str, str] | None = None) -> Response:
        response = page(request, "problem.html", status, title="Not done", message=sentence(exc))
        response.headers.update(headers or {})
        return response

    def act(request: Request, alarm_id: int, change: Callable[[], Any]) -> Response:
        try:
            change()
        except NoSuchAlarm:
            raise HTTPException(404) from None
        except BadInput as exc:
            return refused(request, exc, 422)
        return RedirectResponse(f"/#alarm-{alarm_id}", status_code=303)

    @router.post("/alarms/{alarm_id}/skip")
    async def skip(request: Request, alarm_id: int) -> Response:
        days = _days(await posted(service, request))
        return await run_in_threadpool(act, request, alarm_id,
                                       lambda: service.skip_alarm(alarm_id, days, clock.now()))

    @router.post("/alarms/{alarm_id}/unskip")
    async def unskip(request: Request, alarm_id: int) -> Response:
        days = _days(await posted(service, request))
        return await run_in_threadpool(act, request, alarm_id,
                                       lambda: service.unskip_alarm(alarm_id, days, clock.now()))

    @router.get("/alarms/{alarm_id}/pause")
    def pause_page(request: Request, alarm_id: int) -> Response:
        require_session(service, request)
        alarm = alarm_or_404(service, alarm_id)
        name = alarm.get("name") or f"Alarm {alarm_id}"
        return page(request, "pause.html", title=f"Pause {name}", alarm=alarm, alarm_name=name)

    @router.post("/alarms/{alarm_id}/pause")
    async def pause(request: Request, alarm_id: int) -> Response:
        form = await posted(service, request)
        until = str(form.get("until") or "").strip()
        # A date means "back on that day": its first instant, in the alarm's own zone.
        return await run_in_threadpool(act, request, alarm_id, lambda: service.pause_alarm(
            alarm_id, f"{until}T00:00" if until else None, clock.now()))

    @router.post("/alarms/{alarm_id}/resume")
    async def resume(request: Request, alarm_id: int) -> Response:
        await posted(service, request)
        return await run_in_threadpool(act, request, alarm_id, lambda: service.resume_alarm(alarm_id, clock.now()))

    @router.post("/alarms/{alarm_id}/delete")
    async def delete(request: Request, alarm_id: int) -> Response:
        form = await posted(service, request)
        if form.get("confirm") != "yes":
            # Without the script, the first press asks on a page of its own.
            alarm = await run_in_threadpool(alarm_or_404, service, alarm_id)
            name = alarm.get("name") or f"Alarm {alarm_id}"
            return page(request, "confirm.html", title=f"Delete {name}?", alarm=alarm, alarm_name=name)
        await run_in_threadpool(act, request, alarm_id, lambda: service.remove_alarm(alarm_id))
        return RedirectResponse("/", status_code=303)

    @router.post("/numbers/{index}/call")
    async def test_call(request: Request, index: int) -> Response:
        await posted(service, request)
        return await run_in_threadpool(call, request, index)

    def call(request: Request, index: int) -> Response:
        entry = next((e for e in web.privacy.testable() if e.index == index), None)
        if entry is None:
            # Hidden and secret numbers have no button, and a hand-made post gets none either.
            raise HTTPException(404)
        now = clock.now()
        wait = web.test_calls.retry_after(str(index), now)
        if wait is not None:
            return refused(request, BadInput(f"{entry.name or entry.display} was called less than a minute ago; "
                                             f"try again in {wait} s."), 429, {"Retry-After": str(wait)})
        try:
            service.dial_now(index, now)
        except LimitExceeded as exc:
            retry = getattr(exc, "retry_after_seconds", 60)
            return refused(request, exc, 429, {"Retry-After": str(retry)})
        web.test_calls.record(str(index), now)
        return RedirectResponse("/#test-calls", status_code=303)

    return router


def _days(form: Any) -> SkipDays:
    """The rings a skip or unskip is about: the dates posted (a holiday), else the next one."""
    first, last = (str(form.get(name) or "").strip() or None for name in ("first", "last"))
    if first and last and first != last:
        return SkipDays(first=first, last=last)
    return SkipDays(on=first or last)
