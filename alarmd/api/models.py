"""The shapes of the API's answers and of its smaller request bodies, for /openapi.json.

Answers are open (extra fields allowed): the service's dicts are the truth, and a field
another feature adds must not be cut off or break a client checking against the schema.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alarmd.alarms.inputs import SkipDays


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NumberRef(Open):
    ref: str = Field(description="phoneNumbers index or name, as stored")
    index: int | None
    name: str | None
    number: str | None = Field(description="international format; masked for secret numbers")


class LastRing(Open):
    scheduled_at: str | None
    status: str


class AlarmOut(Open):
    id: int
    name: str | None
    kind: str = Field(description="once | daily | cron")
    schedule: str
    at: str | None
    daily: str | None
    days: str | None
    cron: str | None
    tz: str
    to: NumberRef
    grace_seconds: int
    state: str = Field(description="active | paused | done")
    next_fire_at: str | None = Field(description="the next scheduled instant, skipped or not (UTC, ISO 8601)")
    next_fire_local: str | None = Field(description="the same instant in the alarm's zone")
    next_ring_at: str | None = Field(description="the next ring that will happen (UTC, ISO 8601); "
                                                 "null when paused for good or done")
    next_ring_local: str | None = Field(description="the same instant in the alarm's zone")
    last: LastRing | None
    created_at: str | None
    paused_until: str | None
    skipping: list[str] = Field(description="instants (UTC, ISO 8601) that will be skipped")
    require_human: bool | None = Field(None, description="answering machine detection; null: "
                                       "alarmd.redial.requireHuman decides")
    broken: str | None = Field(None, description='why it would call nobody ("HOME is not configured"), or null')


class SkippedOut(AlarmOut):
    skipped: list[str] = Field(description="the instants (UTC) this request is about: they will not ring")


class UnskippedOut(AlarmOut):
    unskipped: list[str] = Field(description="the instants (UTC) that will ring again")


class AlarmList(Open):
    alarms: list[AlarmOut]


class AttemptOut(Open):
    id: int
    number: str
    number_name: str | None
    dialer: str
    sid: str | None
    status: str
    error_code: int | None
    error_message: str | None
    permanent: bool | None
    duration_seconds: int | None
    answered_by: str | None = Field(None, description="human, machine_start, machine_end_beep, "
                                    "machine_end_silence, machine_end_other, fax or unknown (with detection)")
    started_at: str | None
    finished_at: str | None


class OccurrenceOut(Open):
    id: int
    alarm_id: int | None = Field(description="the alarm it rang for, also once removed (ids are never reused)")
    alarm_name: str | None = Field(description="the alarm's name when it rang")
    alarm_removed: bool = Field(False, description="the alarm has been removed since")
    reason: str = Field(description="alarm | dial | keepalive")
    scheduled_at: str | None
    status: str
    detail: str | None
    to: NumberRef
    finished_at: str | None
    attempts: list[AttemptOut]


class CallList(Open):
    calls: list[OccurrenceOut]
    next_before: str | None = Field(
        description="pass as ?before= for the next (older) page; null on the last page")


class FireTimeOut(Open):
    at: str = Field(description="UTC, ISO 8601")
    local: str = Field(description="ISO 8601 with the offset of the alarm's zone")
    gap_moved: bool = Field(description="its wall time falls in a spring-forward gap; moved forward")
    repeated_hour: bool = Field(description="its wall time happens twice (autumn); this is the first")


class AlarmFireTimes(Open):
    alarm: int
    fire_times: list[FireTimeOut]


class AnyFireTime(FireTimeOut):
    alarm_id: int
    alarm_name: str | None


class AllFireTimes(Open):
    fire_times: list[AnyFireTime]


class NumberOut(Open):
    index: int
    name: str | None
    number: str = Field(description="international format; masked for secret numbers")


class NumberList(Open):
    numbers: list[NumberOut]


class StatusOut(Open):
    version: str
    mode: str
    dry_run_reason: str | None
    timezone: str
    alarms: int
    next_alarm: AlarmOut | None
    last_call: OccurrenceOut | None
    scheduler: str
    warnings: list[str] = Field([], description="alarms whose number or fallback is not configured")


class HealthOut(Open):
    status: str
    version: str
    mode: str
    warning: str | None = Field(None, description="the warnings below in one line, or null")
    warnings: list[str] = Field([], description="what a person should fix: the keepalive's trial "
                                "number at risk, alarms whose number is not configured")


class PauseBody(Closed):
    until: str | None = Field(None, max_length=100, description="pause until this time; omit for good")


class SkipBody(Closed):
    """Which rings: `on` a local date, or `from` one `to` another; none of them, the next one."""

    on: str | None = Field(None, max_length=40, description="YYYY-MM-DD: the rings on this local date")
    first: str | None = Field(None, alias="from", max_length=40,
                              description="YYYY-MM-DD: the first local date of a range (with `to`)")
    last: str | None = Field(None, alias="to", max_length=40,
                             description="YYYY-MM-DD: the last local date of a range, included")

    def days(self) -> SkipDays:
        return SkipDays(on=self.on, first=self.first, last=self.last)


class DialBody(Closed):
    at: str | None = Field(None, max_length=100,
                           description="schedule a one-off alarm at this time instead of dialling now")
