"""Bookkeeping gives way to a call that is due: the waits, their end, and their bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from alarmd import clock
from alarmd.calls import rightofway
from alarmd.calls.rightofway import RightOfWay


def give_way_in_thread(way: RightOfWay) -> tuple[threading.Thread, list[float]]:
    returned: list[float] = []
    thread = threading.Thread(target=lambda: (way.give_way(), returned.append(time.monotonic())))
    thread.start()
    return thread, returned


def test_with_no_call_due_soon_it_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rightofway, "MAX_WAIT_SECONDS", 30)
    way = RightOfWay()
    with way.call_due(clock.now() + timedelta(seconds=10)):
        start = time.monotonic()
        way.give_way()
        assert time.monotonic() - start < 5  # far from the 30 s bound: it did not wait


def test_it_waits_while_a_call_is_due_and_returns_once_it_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rightofway, "MAX_WAIT_SECONDS", 30)  # the bound must not end the wait here
    way = RightOfWay()
    with way.call_due(clock.now() + timedelta(milliseconds=5)):
        thread, returned = give_way_in_thread(way)
        time.sleep(0.1)
        assert returned == []  # still waiting: the call has not gone out
        sent = time.monotonic()
    thread.join(5)
    assert returned and returned[0] >= sent


def test_a_call_overdue_and_not_yet_sent_is_waited_for_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rightofway, "MAX_WAIT_SECONDS", 30)
    way = RightOfWay()
    with way.call_due(clock.now() - timedelta(seconds=1)):
        thread, returned = give_way_in_thread(way)
        time.sleep(0.1)
        assert returned == []
    thread.join(5)
    assert returned


def test_the_wait_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rightofway, "MAX_WAIT_SECONDS", 0.2)
    way = RightOfWay()
    with way.call_due(clock.now()):
        start = time.monotonic()
        way.give_way()
        waited = time.monotonic() - start
    assert 0.2 <= waited < 2


class _Service:
    """What AlarmScheduler asks of its service to be built and to run a periodic job."""

    def __init__(self, way: RightOfWay):
        self.give_way = way.give_way

    def on_alarm_change(self, _listener: object) -> None: ...
    def on_dispatch(self, _listener: object) -> None: ...
    def on_settings_loaded(self, _listener: object) -> None: ...


def held_until_the_call_goes_out(monkeypatch: pytest.MonkeyPatch,
                                 add: Callable[[Any, Callable[[], None]], object]) -> None:
    """`add(scheduler, job)` sets a job due at once while a call is due: it runs only once the call is sent."""
    from alarmd.daemon.scheduler import AlarmScheduler

    monkeypatch.setattr(rightofway, "MAX_WAIT_SECONDS", 30)
    way = RightOfWay()
    scheduler = AlarmScheduler(_Service(way))  # type: ignore[arg-type]  # only what its loop and a job need
    scheduler.scheduler.start()
    ran: list[float] = []
    try:
        with way.call_due(clock.now()):
            add(scheduler, lambda: ran.append(time.monotonic()))  # due at once...
            time.sleep(0.3)
            assert ran == []  # ...but not run before the call goes out
            sent = time.monotonic()
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ran and ran[0] >= sent
    finally:
        scheduler.scheduler.shutdown(wait=False)


def test_a_periodic_job_of_the_daemon_waits_for_a_call_due_now(monkeypatch: pytest.MonkeyPatch) -> None:
    held_until_the_call_goes_out(monkeypatch, lambda scheduler, job: scheduler.every("poll", 3600, job))


def test_the_schedulers_loop_hands_out_no_job_while_a_call_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not even a job that does not give way itself: handing it out costs the lock too."""
    held_until_the_call_goes_out(monkeypatch, lambda scheduler, job: scheduler.scheduler.add_job(job))
