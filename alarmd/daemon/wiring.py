"""One server for the API and the web page: which paths go where, and how uvicorn listens.

The page owns only its own paths (alarmd.web.app.owns); everything else, unknown paths
included, goes to the API, so its answers (401 before anything, then JSON errors) stay
as they were. TLS is uvicorn's own; proxy headers are believed only from alarmd.trustProxy.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# At import, as `alarmd run` imported the API before: FastAPI's import is most of a start,
# and done after the scheduler started it would keep the API from answering for longer.
from alarmd.api.app import create_app
from alarmd.config.network import client_context
from alarmd.config.settings import Settings
from alarmd.web.app import create_web_app, owns

if TYPE_CHECKING:
    from alarmd.alarms.service import AlarmService

ASGIApp = Callable[[Any, Any, Any], Any]


def make_app(service: AlarmService, token: str, is_alive: Callable[[], bool],
             reload: Callable[[], dict[str, Any]] | None = None) -> ASGIApp:
    api = create_app(service, token, is_alive, reload)
    web = create_web_app(service, token)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and owns(scope["path"]):
            await web(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config's TLS and proxy options."""
    network = settings.network
    # Off unless a proxy is named: uvicorn would otherwise believe X-Forwarded-For from any
    # local process, and the sign-in throttle counts by address.
    options: dict[str, Any] = {"proxy_headers": bool(network.trust_proxy)}
    if network.trust_proxy:
        options["forwarded_allow_ips"] = list(network.trust_proxy)
    if network.tls_cert is not None and network.tls_key is not None:
        options.update(ssl_certfile=str(network.tls_cert), ssl_keyfile=str(network.tls_key))
    return options


def probe_context(settings: Settings) -> ssl.SSLContext | None:
    """How the daemon's readiness probe reaches its own HTTPS."""
    return client_context(settings.network.tls_cert) if settings.network.tls_cert else None
