"""How an `alarmd` command fails: one line on stderr and an exit status, never a traceback.

alarmd.cli.commands reports click's own exceptions (usage errors) the same way.
"""

from __future__ import annotations

import sys

from alarmd.errors import AlarmdError, BadInput, ConfigError

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def fail(sentence: str) -> None:
    sentence = sentence.strip().replace("\n", " ")
    print(f"alarmd: {sentence}", file=sys.stderr, flush=True)


def report(exc: BaseException) -> int:
    """Say what went wrong (if there is anything to say) and return the exit status."""
    from alarmd.cli.client import ApiRefused

    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, BrokenPipeError):
        return EXIT_FAILURE  # the reader went away (`alarmd list | head`): nothing to say
    if isinstance(exc, ApiRefused):
        fail(str(exc))
        # The daemon judged the input (4xx but auth and rate limit): that is bad input.
        bad_input = 400 <= exc.status < 500 and exc.status not in (401, 403, 429)
        return EXIT_BAD_INPUT if bad_input else EXIT_FAILURE
    if isinstance(exc, ConfigError | BadInput):
        fail(str(exc))
        return EXIT_BAD_INPUT
    if isinstance(exc, AlarmdError):  # DaemonUnavailable among them
        fail(str(exc))
        return EXIT_FAILURE
    # A bug, still one line: a traceback helps nobody at 6 a.m.
    fail(f"unexpected {type(exc).__name__}: {exc}; please report this.")
    return EXIT_FAILURE
