"""The main page (the next ring, every alarm, the new-alarm form, test calls) and editing an alarm.

A bad form is shown again as it was sent, with the service's sentence beside the field
it is about, and nothing stored; a good one redirects (303) to the alarm on the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from alarmd import clock
from alarmd.errors import BadInput, Conflict, LimitExceeded, NoSuchAlarm
from alarmd.web import present
from alarmd.web.forms import KEEP, AlarmForm, FieldError, field_of, ref_value
from alarmd.web.gate import posted, require_session
from alarmd.web.render import page
from alarmd.web.state import Web

REFUSED = (FieldError, BadInput, Conflict, LimitExceeded)


def status_of(error: Exception) -> int:
    return 409 if isinstance(error, Conflict) else 429 if isinstance(error, LimitExceeded) else 422


def sentence(error: Exception) -> str:
    text = error.message if isinstance(error, FieldError) else str(error)
    return text[:1].upper() + text[1:]


def routes(web: Web) -> APIRouter:
    router = APIRouter()
    service, privacy = web.service, web.privacy

    def choices(current: dict[str, Any] | None, key: str) -> list[dict[str, str]]:
        """The select's options: the pickable numbers, and the alarm's own when it is not one."""
        options = [{"value": e.name or str(e.index), "label": e.name or e.display} for e in privacy.pickable()]
        number = (current or {}).get(key)
        if number and ref_value(number) not in {o["value"] for o in options}:
            options.insert(0, {"value": KEEP, "label": f"{privacy.who(number)} (unchanged)"})
        return options

    def main(request: Request, status: int = 200, form: AlarmForm | None = None,
             errors: dict[str, str] | None = None, notice: str | None = None) -> Response:
        now = clock.now()
        data = present.main_page(service, privacy, now)
        fresh = form or AlarmForm.blank(data["zone"], service.settings.redial.require_human)
        return page(request, "index.html", status, title="Alarms", **data, form=fresh, errors=errors or {},
                    notice=notice, numbers=choices(None, "to"),
                    tests=present.test_calls(service, privacy, now, data["zone"]))

    @router.get("/")
    def index(request: Request) -> Response:
        require_session(service, request)
        return main(request)

    def add(request: Request, form: AlarmForm) -> Response:
        try:
            alarm = service.add_alarm(form.new_alarm(service.settings.redial.require_human), clock.now())
        except REFUSED as exc:
            return main(request, status_of(exc), form, _errors(exc))
        return RedirectResponse(f"/#alarm-{alarm['id']}", status_code=303)

    @router.post("/alarms")
    async def add_alarm(request: Request) -> Response:
        form = AlarmForm.posted(await posted(service, request))
        return await run_in_threadpool(add, request, form)

    def current(alarm: dict[str, Any]) -> AlarmForm:
        return AlarmForm.of_alarm(alarm, _value(alarm, "to", choices(alarm, "to")),
                                  _value(alarm, "then", choices(alarm, "then")), service.settings.redial.require_human)

    def editor(request: Request, alarm: dict[str, Any], form: AlarmForm, status: int = 200,
               errors: dict[str, str] | None = None) -> Response:
        name = alarm.get("name") or f"Alarm {alarm['id']}"
        return page(request, "edit.html", status, title=f"Edit {name}", alarm=alarm, alarm_name=name,
                    form=form, errors=errors or {}, numbers=choices(alarm, "to"),
                    fallbacks=choices(alarm, "then"))

    @router.get("/alarms/{alarm_id}/edit")
    def edit_page(request: Request, alarm_id: int) -> Response:
        require_session(service, request)
        alarm = alarm_or_404(service, alarm_id)
        return editor(request, alarm, current(alarm))

    def edit(request: Request, alarm_id: int, form: AlarmForm) -> Response:
        alarm = alarm_or_404(service, alarm_id)
        try:
            changes = form.changes(current(alarm))
            if changes:
                service.edit_alarm(alarm_id, changes, clock.now())
        except REFUSED as exc:
            return editor(request, alarm, form, status_of(exc), _errors(exc))
        return RedirectResponse(f"/#alarm-{alarm_id}", status_code=303)

    @router.post("/alarms/{alarm_id}/edit")
    async def edit_alarm(request: Request, alarm_id: int) -> Response:
        form = AlarmForm.posted(await posted(service, request))
        return await run_in_threadpool(edit, request, alarm_id, form)

    return router


def alarm_or_404(service: Any, alarm_id: int) -> dict[str, Any]:
    try:
        return dict(service.get_alarm(alarm_id))
    except NoSuchAlarm:
        raise HTTPException(404) from None


def _value(alarm: dict[str, Any], key: str, options: list[dict[str, str]]) -> str:
    number = alarm.get(key)
    if not number:
        return ""
    value = ref_value(number)
    return value if value in {o["value"] for o in options} else KEEP


def _errors(exc: Exception) -> dict[str, str]:
    return {field_of(exc): sentence(exc)}
