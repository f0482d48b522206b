"""Every error alarmd raises on purpose, one line each, named for the condition.

Each carries one sentence meant for a person; the CLI and the API print it as it is.
"""


class AlarmdError(Exception):
    """Base of alarmd's own errors."""


class ConfigError(AlarmdError):
    """A config value is wrong; the message names its key."""


class BadInput(AlarmdError):
    """A request or command is malformed (CLI exit 2, HTTP 4xx).

    `field` is the input it is about, by the API's JSON name (`at`, `tz`, `say`, ...), so
    the web page can show the sentence beside that field; None when it is about no one field.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class UnknownNumber(BadInput):
    """A number index or name that is not in twilio.phoneNumbers."""


class NoSuchAlarm(AlarmdError):
    """No alarm has that id or name."""


class Conflict(AlarmdError):
    """The request clashes with what is stored (HTTP 409); `field` as BadInput's."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class LimitExceeded(AlarmdError):
    """The cost guard refused a call (HTTP 429)."""


class CannotWrite(AlarmdError):
    """A file alarmd was asked to write could not be written (CLI exit 1)."""


class DaemonUnavailable(AlarmdError):
    """The CLI could not reach the daemon's API."""


class DialError(AlarmdError):
    """A dialer could not place or follow a call.

    `permanent` errors (bad credentials, unverified number) are not worth retrying;
    `code` is the provider's error code when there is one. `uncertain` means the request
    may have reached the provider and placed a call whose answer was lost (a read
    timeout, a dropped connection, a 5xx): look before sending it again. `retry_after` is
    how many seconds the provider asked to be left alone (HTTP Retry-After), when it did.
    """

    def __init__(self, message: str, *, permanent: bool = False, code: int | None = None,
                 uncertain: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.uncertain = uncertain
        self.retry_after = retry_after
