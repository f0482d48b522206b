"""A local stand-in for Twilio's Calls API, on 127.0.0.1, for tests and benchmarks.

It answers as Twilio does (201 with a `CA...` sid; Twilio's error JSON), records every
request, and can be scripted: queue answers for the next creates (an error, a 500, a
hang past the client's timeout) and the statuses a call goes through when fetched. A call
created with MachineDetection reports `answered_by` as Twilio does: null until picked up,
then who answered (`answered_by_script`, or its Answer's); without it, always null.

Two options play an account under load, as Twilio's real API does. `calls_per_second`:
calls are placed at that rate and the rest wait their turn in `queued` (Twilio's default
is 1 per second), so a burst's last phone rings long after its request. `rate_limit_every`:
every Nth create is refused with 429 / 20429 (with `Retry-After: retry_after`, if set).

For `alarmd config check --online` it also answers the account (GET Accounts/{sid}.json),
its IncomingPhoneNumbers and its OutgoingCallerIds, in the shapes of Twilio's OpenAPI
description (../shared/twilio/), and, once `auth_token` is set, refuses other
credentials with 20003 as Twilio does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CREATE = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls\.json$")
FETCH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls/(?P<sid>CA\w+)\.json$")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]
    at: float  # the stand-in's clock (time.time()) when it arrived (its request line was read)
    answered: int | None = None  # the HTTP status it got (None while it hangs)
    sid: str | None = None  # the call a create made, if it made one
    proxied_for: str | None = None  # the host named by a request sent through a proxy

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        header = self.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user, password

    def field(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class Answer:
    status: int = 201
    body: dict[str, Any] | None = None
    delay: float = 0.0  # seconds to wait first (a hang past the client's timeout)
    # For a 201: the statuses this call goes through when fetched (else status_script).
    statuses: list[str] | None = None
    drop: bool = False  # close the connection without answering (after any delay)
    # For a 201 with MachineDetection: who answers once it is picked up (else answered_by_script).
    answered_by: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def twilio_error(code: int, message: str, status: int = 400, delay: float = 0.0) -> Answer:
    return Answer(status, {"code": code, "message": message,
                           "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
                  delay)


def server_error(delay: float = 0.0) -> Answer:
    """Twilio's 500: nothing was created."""
    return twilio_error(20500, "An internal server error has occurred", 500, delay)


def rate_limited(retry_after: str | None = None) -> Answer:
    answer = twilio_error(20429, "Too Many Requests", 429)
    if retry_after is not None:
        answer.headers["Retry-After"] = retry_after
    return answer


def unverified(number: str = "+447700900123") -> Answer:
    return twilio_error(21219, f"The number {number} is unverified. Trial accounts may only call "
                               "verified numbers.")


LIST = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls\.json$")
ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)\.json$")
INCOMING = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/IncomingPhoneNumbers\.json$")
CALLER_IDS = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/OutgoingCallerIds\.json$")


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 resets connections when a hundred alarms due at
    # once connect together; Twilio's servers take them all.
    request_queue_size = 256


@dataclass
class TwilioStandin:
    requests: list[Recorded] = field(default_factory=list)
    create_script: list[Answer] = field(default_factory=list)
    # Answers for the next status reads (a 20429, say) before the call's own statuses.
    fetch_script: list[Answer] = field(default_factory=list)
    # Answers for the next updates (cancel, hang up: a 20429, say) before they take effect.
    update_script: list[Answer] = field(default_factory=list)
    # Answers for the next call-list reads (a 20429, say) before the list itself.
    list_script: list[Answer] = field(default_factory=list)
    # The statuses a fetched call goes through, one per fetch; the last one repeats.
    status_script: list[str] = field(default_factory=lambda: ["completed"])
    call_statuses: dict[str, list[str]] = field(default_factory=dict)
    port: int = 0
    # Every call created: sid -> its fields, as Twilio's call list would show it.
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Who picks up calls made with MachineDetection (human, machine_start, fax, unknown, ...),
    # and sid -> who answers it, for those calls only.
    answered_by_script: str = "human"
    detected: dict[str, str] = field(default_factory=dict)
    # The account, as GET Accounts/{sid}.json shows it, and its numbers (E.164).
    account_type: str = "Full"  # or "Trial"
    account_status: str = "active"
    incoming_numbers: list[str] = field(default_factory=list)
    caller_ids: list[str] = field(default_factory=list)
    # When set, only this auth token is accepted (any account SID); others get 20003.
    auth_token: str | None = None
    # Twilio's calls-per-second rate: a call stays queued until its turn (None: no queue).
    calls_per_second: float | None = None
    # sid -> when (its clock) the call left the queue (one that has not yet is not there), and
    # when a call was canceled (or hung up).
    leaves_queue: dict[str, float] = field(default_factory=dict)
    canceled_at: dict[str, float] = field(default_factory=dict)
    # Refuse every Nth create with 20429 (None: never), with this Retry-After header.
    rate_limit_every: int | None = None
    retry_after: str | None = None
    # Seconds since the epoch, now: when requests arrive, calls are created and leave the
    # queue. A test on a fake clock (tests/fakeclock.py) puts its clock here.
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._waiting: list[tuple[str, float]] = []  # calls in the queue, with when each was made
        self._last_turn = float("-inf")  # when the queue last let a call out
        self._creates_seen = 0
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the second waits for
            # the client's delayed ACK (40 ms), which Twilio's real servers do not add.
            disable_nagle_algorithm = True
            arrived_at = 0.0

            def parse_request(self) -> bool:
                # A request's arrival is when its first line is read, before its headers and
                # body are parsed: bench/fire_latency.py times alarmd, not this stand-in.
                self.arrived_at = standin.clock()
                return bool(super().parse_request())

            def do_POST(self) -> None:
                standin._handle(self)

            def do_GET(self) -> None:
                standin._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # serve_forever looks for a shutdown request every poll_interval (0.5 s by default),
        # which stop() would wait out.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TwilioStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TwilioStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests read ----------------------------------------------------------

    def creates(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and CREATE.match(r.path)]

    def placed(self) -> list[Recorded]:
        """Creates that made a call (rang a phone), whether or not the answer reached alarmd."""
        with self._lock:
            return [r for r in self.requests if r.sid is not None]

    def fetches(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and FETCH.match(r.path)]

    def cancels(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and FETCH.match(r.path)]

    def hangups(self) -> list[Recorded]:  # updates to Status=completed; cancels() has them all
        return [r for r in self.cancels() if r.field("Status") == "completed"]

    def lists(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and LIST.match(r.path)]

    def rang(self) -> list[str]:
        """With calls_per_second: the calls that left the queue (rang) before any cancel, by sid."""
        with self._lock:
            self._let_out(self.clock())
            return list(self.leaves_queue)

    def canceled_in_queue(self) -> list[str]:
        """With calls_per_second: the calls canceled before their turn came (they never rang)."""
        with self._lock:
            self._let_out(self.clock())
            return [sid for sid in self.canceled_at if sid in self.call_statuses and sid not in self.leaves_queue]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Wait until predicate(requests so far) is true."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(list(self.requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def wait_for_creates(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [r for r in self.requests if r.method == "POST" and CREATE.match(r.path)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._arrived.wait(left)

    # --- serving ------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        target, proxied_for = handler.path, None
        if target.startswith(("http://", "https://")):
            # Sent through a proxy, a request names the whole URL; the stand-in answers it as
            # the proxy would pass it on to that host.
            parts = urlsplit(target)
            proxied_for, target = parts.netloc, parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        record = Recorded(handler.command, path, {k.lower(): v for k, v in handler.headers.items()},
                          parse_qs(raw or query, keep_blank_values=True),
                          getattr(handler, "arrived_at", 0.0) or self.clock(), proxied_for=proxied_for)
        with self._arrived:
            self.requests.append(record)
            self._let_out(record.at)
            answer = self._answer(record)
            self._arrived.notify_all()
        if answer.delay:
            time.sleep(answer.delay)
        if answer.drop:
            handler.close_connection = True
            return
        with self._arrived:
            record.answered = answer.status
            self._arrived.notify_all()
        body = json.dumps(answer.body or {}).encode()
        try:
            handler.send_response(answer.status)
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): that is what a hang tests

    def account_reads(self) -> list[Recorded]:
        """The requests `config check --online` makes: the account, its numbers, its caller IDs."""
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and (
                ACCOUNT.match(r.path) or INCOMING.match(r.path) or CALLER_IDS.match(r.path))]

    def _answer(self, record: Recorded) -> Answer:
        auth = record.basic_auth
        if auth is None or (self.auth_token is not None and auth[1] != self.auth_token):
            return twilio_error(20003, "Authenticate", 401)
        account_read = self._account_answer(record, auth[0])
        if account_read is not None:
            return account_read
        create = CREATE.match(record.path)
        if record.method == "POST" and create:
            if not record.field("To") or not record.field("From"):
                return twilio_error(21201, "No 'To' number is specified", 400)
            self._creates_seen += 1
            if self.rate_limit_every and self._creates_seen % self.rate_limit_every == 0:
                return rate_limited(self.retry_after)
            if self.create_script:
                scripted = self.create_script.pop(0)
                if scripted.status != 201 or scripted.body is not None:
                    return scripted
                body = self._call(create["account"], record, scripted.statuses, scripted.answered_by)
                return Answer(201, body, scripted.delay, drop=scripted.drop)
            return Answer(201, self._call(create["account"], record))
        fetch = FETCH.match(record.path)
        if record.method == "POST" and fetch and fetch["sid"] in self.call_statuses:
            if self.update_script:
                return self.update_script.pop(0)
            # An update: Status=canceled stops a queued or ringing call, as Twilio does.
            status = record.field("Status") or ""
            if status in ("canceled", "completed"):
                self.call_statuses[fetch["sid"]] = [status]
                self.canceled_at.setdefault(fetch["sid"], record.at)
            return Answer(200, self._view(fetch["sid"], self._status_now(fetch["sid"])))
        if record.method == "GET" and fetch:
            sid = fetch["sid"]
            statuses = self.call_statuses.get(sid)
            if statuses is None:
                return twilio_error(20404, "The requested resource was not found", 404)
            if self.fetch_script:
                return self.fetch_script.pop(0)
            if self._queued(sid):
                return Answer(200, self._view(sid, "queued") | {"duration": "0"})
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            return Answer(200, self._view(sid, status) | {"duration": "12" if status == "completed" else "0"})
        listing = LIST.match(record.path)
        if record.method == "GET" and listing:
            if self.list_script:
                return self.list_script.pop(0)
            return self._list(listing["account"], record)
        return twilio_error(20404, "The requested resource was not found", 404)

    def _account_answer(self, record: Recorded, user: str) -> Answer | None:
        if record.method != "GET":
            return None
        for pattern, key, numbers, kind in ((INCOMING, "incoming_phone_numbers", self.incoming_numbers, "incoming"),
                                            (CALLER_IDS, "outgoing_caller_ids", self.caller_ids, "caller_id")):
            match = pattern.match(record.path)
            if match and match["account"] != user:
                return twilio_error(20404, "The requested resource was not found", 404)
            if match:
                # Twilio's PhoneNumber filter takes partial numbers.
                wanted = re.sub(r"\D", "", record.field("PhoneNumber") or "")
                items = [_number_item(match["account"], number, kind) for number in numbers
                         if wanted in re.sub(r"\D", "", number)]
                return Answer(200, _page(record.path, key, items))
        match = ACCOUNT.match(record.path)
        if not match:
            return None
        if match["account"] != user:
            return twilio_error(20404, "The requested resource was not found", 404)
        sid, created = match["account"], format_datetime(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), usegmt=True)
        base = f"/2010-04-01/Accounts/{sid}"
        return Answer(200, {
            "auth_token": record.basic_auth[1] if record.basic_auth else None,
            "date_created": created, "date_updated": created, "friendly_name": "alarmd tests",
            "owner_account_sid": sid, "sid": sid, "status": self.account_status,
            "subresource_uris": {name: f"{base}/{path}.json" for name, path in (
                ("calls", "Calls"), ("incoming_phone_numbers", "IncomingPhoneNumbers"),
                ("outgoing_caller_ids", "OutgoingCallerIds"))},
            "type": self.account_type, "uri": f"{base}.json"})

    def _list(self, account: str, record: Recorded) -> Answer:
        """Twilio's call list, newest first, filtered by To and From as Twilio filters them."""
        to, from_ = record.field("To"), record.field("From")
        calls = [self._view(sid, self._status_now(sid)) for sid, c in reversed(self.calls.items())
                 if c["account_sid"] == account and (to is None or c["to"] == to)
                 and (from_ is None or c["from"] == from_)]
        uri = f"/2010-04-01/Accounts/{account}/Calls.json"
        return Answer(200, {"calls": calls, "first_page_uri": uri, "next_page_uri": None,
                            "previous_page_uri": None, "page": 0, "page_size": 50, "start": 0,
                            "end": max(len(calls) - 1, 0), "uri": uri})

    def _let_out(self, now: float) -> None:
        """Let calls out of the queue whose turn came by `now`, one per 1/calls_per_second.

        Turns are handed out as the requests come (under the lock, before each is answered),
        so a cancel is judged against the queue as it stood when it arrived; a canceled call
        leaves the queue without taking a turn, as Twilio drops it.
        """
        while self._waiting and self.calls_per_second:
            sid, made = self._waiting[0]
            if sid in self.canceled_at:
                self._waiting.pop(0)
                continue
            turn = max(made, self._last_turn + 1 / self.calls_per_second)
            if turn > now:
                return
            self._waiting.pop(0)
            self.leaves_queue[sid] = self._last_turn = turn

    def _queued(self, sid: str) -> bool:
        """Still waiting for its turn under calls_per_second (and not canceled meanwhile)."""
        return sid not in self.canceled_at and any(waiting == sid for waiting, _ in self._waiting)

    def _status_now(self, sid: str) -> str:
        return "queued" if self._queued(sid) else self.call_statuses[sid][0]

    def _view(self, sid: str, status: str) -> dict[str, Any]:
        """The call as Twilio shows it now; answered_by once someone or something picked up."""
        picked_up = status in ("in-progress", "completed")
        return dict(self.calls[sid], status=status, answered_by=self.detected.get(sid) if picked_up else None)

    def _call(self, account: str, record: Recorded, statuses: list[str] | None = None,
              answered_by: str | None = None) -> dict[str, Any]:
        sid = "CA" + uuid.uuid4().hex
        self.call_statuses[sid] = list(statuses or self.status_script)
        if record.field("MachineDetection"):  # as Twilio, answered_by only with detection
            self.detected[sid] = answered_by or self.answered_by_script
        record.sid = sid
        if self.calls_per_second:
            self._waiting.append((sid, record.at))
            self._let_out(record.at)
        call = {"sid": sid, "account_sid": account, "to": record.field("To"),
                "from": record.field("From"), "status": "queued", "direction": "outbound-api",
                "api_version": "2010-04-01",
                "date_created": format_datetime(datetime.fromtimestamp(self.clock(), UTC), usegmt=True),
                "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json", "answered_by": None}
        self.calls[sid] = call
        return call


def _page(uri: str, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Twilio's list envelope: one page holding everything."""
    return {key: items, "end": max(len(items) - 1, 0), "first_page_uri": f"{uri}?PageSize=50&Page=0",
            "next_page_uri": None, "page": 0, "page_size": 50, "previous_page_uri": None, "start": 0,
            "uri": f"{uri}?PageSize=50&Page=0"}


def _number_item(account: str, number: str, kind: str) -> dict[str, Any]:
    """An IncomingPhoneNumber or an OutgoingCallerId as Twilio lists it."""
    sid = "PN" + uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}:{number}").hex
    created = format_datetime(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), usegmt=True)
    path = "IncomingPhoneNumbers" if kind == "incoming" else "OutgoingCallerIds"
    item: dict[str, Any] = {"account_sid": account, "date_created": created, "date_updated": created,
                            "friendly_name": number, "phone_number": number, "sid": sid,
                            "uri": f"/2010-04-01/Accounts/{account}/{path}/{sid}.json"}
    if kind == "incoming":
        item |= {"api_version": "2010-04-01", "beta": False, "origin": "twilio", "status": "in-use",
                 "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
                 "address_requirements": "none", "voice_url": "", "voice_method": "POST",
                 "emergency_status": "Inactive", "trunk_sid": None, "identity_sid": None, "bundle_sid": None}
    return item
