"""What Twilio says about the configured account: its type, its numbers, its verified caller IDs.

Read through the official SDK, at the configured API base URL, for `alarmd config check
--online` (alarmd.daemon.preflight judges the answers). Failures raise DialError with
one sentence, as the dialer's do; the auth token is never part of one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from alarmd.calls.dialers.twilio import network_error, rest_error, summary
from alarmd.calls.dialers.twilio_http import ErrorAnswer, RequestFailed, TwilioApiHttpClient
from alarmd.config.settings import TwilioSettings
from alarmd.defaults import TWILIO_TIMEOUT_SECONDS
from alarmd.errors import DialError

T = TypeVar("T")

# More than any household has; Twilio pages them, the SDK follows the pages.
LIST_LIMIT = 1000


@dataclass(frozen=True)
class AccountFacts:
    sid: str
    name: str | None
    type: str | None  # "Trial" or "Full"
    status: str | None  # "active", "suspended", "closed"


class TwilioAccount:
    def __init__(self, settings: TwilioSettings, timeout: float = TWILIO_TIMEOUT_SECONDS):
        assert settings.account_sid and settings.auth_token
        self.sid = settings.account_sid
        self.base_url = settings.api_base_url or "https://api.twilio.com"
        self._client = Client(settings.account_sid, settings.auth_token,
                              http_client=TwilioApiHttpClient(timeout, settings.api_base_url))
        self._timeout = timeout

    def facts(self) -> AccountFacts:
        """GET the account: the credentials' test (20003 when they are wrong)."""
        account = self._request(lambda: self._client.api.v2010.accounts(self.sid).fetch(), "fetch")
        return AccountFacts(self.sid, _text(account.friendly_name), _text(account.type), _text(account.status))

    def incoming_numbers(self) -> list[str]:
        """The account's own phone numbers (IncomingPhoneNumbers), E.164."""
        found = self._request(lambda: self._client.incoming_phone_numbers.list(limit=LIST_LIMIT), None)
        return [str(n.phone_number) for n in found if n.phone_number]

    def caller_ids(self) -> list[str]:
        """The numbers verified on the account (OutgoingCallerIds), E.164: all a trial account may call."""
        found = self._request(lambda: self._client.outgoing_caller_ids.list(limit=LIST_LIMIT), None)
        return [str(c.phone_number) for c in found if c.phone_number]

    def _request(self, send: Callable[[], T], doing: str | None) -> T:
        try:
            return send()
        except ErrorAnswer as exc:
            raise rest_error(exc, "the number", doing) from None
        except RequestFailed as exc:
            error = network_error(exc, self._timeout)
            raise DialError(f"{error.message} at {self.base_url}") from None
        except (TwilioException, ValueError) as exc:
            raise DialError(f"Twilio request failed ({summary(exc)})") from None


def _text(value: Any) -> str | None:
    # The SDK gives enums and strings; either reads as its value.
    return str(getattr(value, "value", value)) if value not in (None, "") else None
