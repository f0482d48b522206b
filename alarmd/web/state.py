"""What every page's routes share: the service, the token, privacy and the counters.

Its own module so the route modules import it, and app imports them: no import runs
back to app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alarmd.alarms.service import AlarmService
from alarmd.web import throttle
from alarmd.web.privacy import Privacy


@dataclass
class Web:
    """The page's shared state, made once by create_web_app."""

    service: AlarmService
    token: str
    privacy: Privacy
    sign_ins: throttle.Limiter = field(default_factory=throttle.sign_in_limiter)
    test_calls: throttle.Limiter = field(default_factory=throttle.test_call_limiter)
