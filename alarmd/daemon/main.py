"""`alarmd run`: wire config, database, dialer, scheduler and API; stop cleanly on a signal."""

from __future__ import annotations

import ctypes
import gc
import ipaddress
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType

from sqlalchemy import Engine

from alarmd import __version__
from alarmd.calls import live
from alarmd.calls.dialers import make_dialer
from alarmd.calls.dialers.environment import environment_problems
from alarmd.config.apitoken import ensure_token
from alarmd.config.node import claim_node_id
from alarmd.config.settings import Settings
from alarmd.daemon import logs, supervision
from alarmd.daemon.changes import POLL_SECONDS, ChangeWatcher
from alarmd.daemon.clockwatch import ClockWatch
from alarmd.daemon.heartbeat import PING_TIMEOUT_SECONDS, Heartbeat
from alarmd.daemon.reload import Reloader
from alarmd.daemon.sdnotify import Notifier
from alarmd.daemon.waiting import open_database_patiently
from alarmd.defaults import SHUTDOWN_WAIT_SECONDS
from alarmd.errors import ConfigError
from alarmd.phonebook import Phonebook
from alarmd.store import db
from alarmd.store.trouble import database_trouble

log = logging.getLogger("alarmd")

STARTUP_TIMEOUT_SECONDS = 15
# Each node measures its clock against the database's and writes its heartbeat row this often.
NODE_HEARTBEAT_SECONDS = 5


def configure_logging(level: int = logging.INFO) -> None:
    logs.configure(level)


def phonebook_of(settings: Settings) -> Phonebook:
    return live.phonebook_of(settings)


def open_database(settings: Settings) -> Engine:
    engine = db.make_engine(settings.database)
    try:
        db.upgrade(engine)
    except BaseException:
        engine.dispose()  # a node that waits for its database opens a new engine each try
        raise
    return engine


def redactor(settings: Settings, phonebook: Phonebook) -> Callable[[str], str]:
    """Text fit to leave the daemon (a heartbeat's reason): no token, no secret number's digits."""
    secrets = [value for value in (settings.twilio.auth_token, settings.api_token) if value]

    def redact(text: str) -> str:
        for value in secrets:
            text = text.replace(value, "***")
        return phonebook.mask_text(text)

    return redact


def run(settings: Settings, config_arg: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None) -> int:
    """Run until SIGTERM or SIGINT; the exit status. SIGHUP reloads the config.

    `config_arg` and `env` are what `settings` were loaded from: a reload reads the same
    file (or looks it up the same way) with the same environment. The heartbeat hears of
    any end but a clean stop.
    """
    configure_logging()
    heartbeat = Heartbeat(settings.heartbeat, redactor(settings, phonebook_of(settings)))
    heartbeat.start()
    try:
        failure = _serve(settings, heartbeat, config_arg, env)
    except Exception as exc:
        heartbeat.fail(f"alarmd stopped on an error: {type(exc).__name__}: {exc}")
        heartbeat.stop(PING_TIMEOUT_SECONDS)
        raise
    if failure is not None:
        heartbeat.fail(f"alarmd stopped on an error: {failure}")
    heartbeat.stop(PING_TIMEOUT_SECONDS if failure else 1.0)
    return 0 if failure is None else 1


def _serve(settings: Settings, heartbeat: Heartbeat, config_arg: str | os.PathLike[str] | None,
           env: Mapping[str, str] | None) -> str | None:
    """The daemon's life; None after a clean stop, else why it stopped."""
    import uvicorn

    from alarmd.alarms.service import AlarmService
    from alarmd.daemon import wiring
    from alarmd.daemon.scheduler import AlarmScheduler

    # Installed first, so a stop asked for while the database upgrades or the API starts
    # is a clean stop once start-up is through, not a kill halfway.
    stop, hup, wake = threading.Event(), threading.Event(), threading.Event()
    env = dict(os.environ if env is None else env)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()
        wake.set()

    def _on_hup(_signum: int, _frame: FrameType | None) -> None:
        # Without a handler SIGHUP ends the process, and systemd counts that as a clean
        # exit: no restart, every later alarm lost. The main loop does the reload.
        hup.set()
        wake.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_hup)

    supervision.warn_if_auth_token_exposed(settings.client.config_path)
    dialer = make_dialer(settings.twilio, timeout=settings.redial.request_timeout_seconds)
    reason = settings.twilio.dry_run_reason
    if reason:
        log.warning("alarmd %s: DRY-RUN mode (%s): alarms are recorded, nobody is called; %s",
                    __version__, reason, supervision.how_to_call_for_real(settings.client.config_path))
    else:
        log.info("alarmd %s: Twilio mode, calling from %s", __version__, settings.twilio.number_from)
    for problem in environment_problems():
        log.warning("%s", problem)
    log.info("heartbeat: %s", heartbeat.describe())
    _check_listen(settings)
    node_id = claim_node_id(settings.client.state_dir)
    engine = open_database_patiently(lambda: open_database(settings), settings, Notifier.from_env(), stop)
    if engine is None:
        log.info("stopped while waiting for the database")
        return None
    log.info("database %s is at the newest schema", settings.database)
    token = ensure_token(settings.client)

    service = AlarmService(db.session_factory(engine), dialer, settings, phonebook_of(settings), node_id)
    service.on_call_failed(heartbeat.fail)
    # Before anything is scheduled or resumed, as after every reload: every pin follows the
    # config just read, and alarms whose person left it are flagged (alarms.pins).
    service.settings_loaded()
    # The shared clock is measured before anything is scheduled or resumed: a node whose own
    # clock runs fast would otherwise claim and ring alarms early in its first seconds.
    try:
        service.heartbeat()
    except Exception as exc:  # the database just opened; its trouble is said by the scheduled heartbeat too
        log.warning("could not read the database's clock at start: %s", database_trouble(exc) or type(exc).__name__)
    scheduler = AlarmScheduler(service)
    scheduler.start()
    scheduler.resume_periodically()
    # Other nodes' changes (and this node's clock against the database's): see daemon/changes.
    watcher = ChangeWatcher(service, settings.database)
    scheduler.every("node-heartbeat", NODE_HEARTBEAT_SECONDS, service.heartbeat)
    scheduler.every("changes", POLL_SECONDS, watcher.poll)
    watcher.start_listening()
    if heartbeat.enabled:
        # Run by the scheduler's loop, like the watchdog: if that loop dies or hangs, the
        # pings stop and the service alerts; each run also asks whether the database takes a write.
        scheduler.every("heartbeat", heartbeat.every_seconds, lambda: heartbeat.check(lambda: db.write_problem(engine)))
    supervisor = supervision.Supervisor(Notifier.from_env(), service, scheduler)
    supervisor.start()
    reloader = Reloader(settings, config_arg, env, service, supervisor)
    watch = ClockWatch(scheduler.set_again)

    app = wiring.make_app(service, token, scheduler.is_alive, lambda: reloader.reload("alarmd config reload"))
    host, port = settings.client.listen_host, settings.client.listen_port
    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
        timeout_graceful_shutdown=2, **wiring.server_options(settings),
    ))
    server_thread = threading.Thread(target=server.run, name="api", daemon=True)
    server_thread.start()

    if not _wait_started(server, server_thread):
        log.error("the API could not listen on %s:%s", host, port)
        scheduler.shutdown()
        return f"the API could not listen on {host}:{port}"
    log.info("listening on %s://%s:%s (the web page at /)", "https" if settings.network.tls else "http", host, port)
    if not supervisor.ready(settings.client.base_url + "/healthz", wiring.probe_context(settings)):
        log.error("the API on %s:%s does not answer /healthz", host, port)
        server.should_exit = True
        scheduler.shutdown()
        return f"the API on {host}:{port} does not answer /healthz"

    # What start-up made lives as long as the daemon. Frozen, it is no longer walked by
    # every full garbage collection, which holds the interpreter lock while a call due at
    # that moment waits. The heap start-up freed is then handed back to the system.
    gc.freeze()
    _give_back_free_memory()
    failure = None
    while not stop.is_set():
        wake.wait(1.0)
        wake.clear()
        if stop.is_set():
            break
        if hup.is_set():
            hup.clear()
            reloader.reload_logged("SIGHUP")
        watch.check()
        if not server_thread.is_alive():
            failure = "the API server stopped unexpectedly"
            log.error("%s", failure)
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
    return failure


def _give_back_free_memory() -> None:
    """Return the free pages of the C heap to the system (glibc's malloc_trim).

    Start-up reads thousands of rows and builds the API; what it freed stays in the
    process's heap, counted in its resident memory all day, until asked for. Elsewhere
    than glibc there is no such call: nothing is done.
    """
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


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
    if not loopback and not settings.network.protected:
        # The token and the page's session cookie must not cross the network in clear.
        raise ConfigError(
            f"alarmd.listen: {host} is not a loopback address; serve HTTPS (alarmd.tls.cert and key) or name "
            "the TLS proxy in front of alarmd (alarmd.trustProxy) before listening on it."
        )
