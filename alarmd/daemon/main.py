"""`alarmd run`: wire config, database, dialer, scheduler and API; stop cleanly on a signal."""

from __future__ import annotations

import gc
import ipaddress
import logging
import signal
import threading
from types import FrameType

from sqlalchemy import Engine

from alarmd import __version__
from alarmd.calls.dialers import make_dialer
from alarmd.config.apitoken import ensure_token
from alarmd.config.node import claim_node_id
from alarmd.config.settings import Settings
from alarmd.daemon import logs, supervision
from alarmd.daemon.changes import POLL_SECONDS, ChangeWatcher
from alarmd.daemon.sdnotify import Notifier
from alarmd.daemon.waiting import open_database_patiently
from alarmd.defaults import SHUTDOWN_WAIT_SECONDS
from alarmd.errors import ConfigError
from alarmd.phonebook import Phonebook, PhoneNumber
from alarmd.store import db

log = logging.getLogger("alarmd")

STARTUP_TIMEOUT_SECONDS = 15
# Each node measures its clock against the database's and writes its heartbeat this often.
HEARTBEAT_SECONDS = 5


def configure_logging(level: int = logging.INFO) -> None:
    logs.configure(level)


def phonebook_of(settings: Settings) -> Phonebook:
    return Phonebook([
        PhoneNumber(i, e.name, e.number, e.hidden, e.secret)
        for i, e in enumerate(settings.twilio.phone_numbers)
    ])


def open_database(settings: Settings) -> Engine:
    engine = db.make_engine(settings.database)
    try:
        db.upgrade(engine)
    except BaseException:
        engine.dispose()  # a node that waits for its database opens a new engine each try
        raise
    return engine


def run(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; the exit status."""
    import uvicorn

    from alarmd.alarms.service import AlarmService
    from alarmd.api.app import create_app
    from alarmd.daemon.scheduler import AlarmScheduler

    configure_logging()
    # Installed first, so a stop asked for while the database upgrades or the API starts
    # is a clean stop once start-up is through, not a kill halfway.
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    supervision.warn_if_auth_token_exposed(settings.client.config_path)
    dialer = make_dialer(settings.twilio, timeout=settings.redial.request_timeout_seconds)
    reason = settings.twilio.dry_run_reason
    if reason:
        log.warning("alarmd %s: DRY-RUN mode (%s): alarms are recorded, nobody is called",
                    __version__, reason)
    else:
        log.info("alarmd %s: Twilio mode, calling from %s", __version__, settings.twilio.number_from)
    _check_listen(settings)
    node_id = claim_node_id(settings.client.state_dir)
    engine = open_database_patiently(lambda: open_database(settings), settings, Notifier.from_env(), stop)
    if engine is None:
        log.info("stopped while waiting for the database")
        return 0
    log.info("database %s is at the newest schema", settings.database)
    token = ensure_token(settings.client)

    service = AlarmService(db.session_factory(engine), dialer, settings, phonebook_of(settings), node_id)
    scheduler = AlarmScheduler(service)
    scheduler.start()
    scheduler.resume_periodically()
    # Other nodes' changes (and this node's clock against the database's): see daemon/changes.
    watcher = ChangeWatcher(service, settings.database)
    scheduler.every("heartbeat", HEARTBEAT_SECONDS, service.heartbeat)
    scheduler.every("changes", POLL_SECONDS, watcher.poll)
    watcher.start_listening()
    supervisor = supervision.Supervisor(Notifier.from_env(), service, scheduler)
    supervisor.start()

    app = create_app(service, token, scheduler.is_alive)
    host, port = settings.client.listen_host, settings.client.listen_port
    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
        timeout_graceful_shutdown=2,
    ))
    server_thread = threading.Thread(target=server.run, name="api", daemon=True)
    server_thread.start()

    if not _wait_started(server, server_thread):
        log.error("the API could not listen on %s:%s", host, port)
        scheduler.shutdown()
        return 1
    log.info("listening on http://%s:%s", host, port)
    if not supervisor.ready(settings.client.base_url + "/healthz"):
        log.error("the API on %s:%s does not answer /healthz", host, port)
        server.should_exit = True
        scheduler.shutdown()
        return 1

    # What start-up made lives as long as the daemon. Frozen, it is no longer walked by
    # every full garbage collection: tens of milliseconds with the interpreter lock held,
    # which a call due at that moment would wait out.
    gc.freeze()
    while not stop.wait(1.0):
        if not server_thread.is_alive():
            log.error("the API server stopped unexpectedly")
            break

    supervisor.stopping()
    watcher.stop()
    server.should_exit = True
    service.request_stop()
    scheduler.shutdown()
    if not service.wait_idle(SHUTDOWN_WAIT_SECONDS):
        # Left claimed/dialling in the database: the restart sees it, nothing is lost silently.
        log.warning("stopping with a call still in flight; it stays recorded as dialling")
    server_thread.join(timeout=2)
    engine.dispose()
    log.info("stopped")
    return 0 if stop.is_set() else 1


def _wait_started(server: object, thread: threading.Thread) -> bool:
    for _ in range(STARTUP_TIMEOUT_SECONDS * 50):
        if getattr(server, "started", False):
            return True
        if not thread.is_alive():
            return False
        threading.Event().wait(0.02)
    return False


def _check_listen(settings: Settings) -> None:
    host = settings.client.listen_host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not settings.client.api_token:
        raise ConfigError(
            f"alarmd.listen: {host} is not a loopback address; configure an API token "
            "(alarmd.apiToken, ALARMD_API_TOKEN or the api-token credential) before listening on it."
        )
