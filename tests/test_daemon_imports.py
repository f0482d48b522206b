"""What a running daemon holds all day: not the `uvicorn` command line (click, its
supervisors), nor what requests imports for hosts and answers Twilio never sends
(idna's tables, charset_normalizer). Each cost idle memory (bench/rss.py); a call still
goes out through the SDK (tests/test_end_to_end.py rings through the same process).
"""

from __future__ import annotations

from tests.conftest import Home, twilio_block
from tests.test_revision import imported_by_a_start
from tests.twilio_standin import TwilioStandin

NOT_HELD = "click uvicorn.main uvicorn.supervisors idna.core charset_normalizer.api"


def test_a_daemon_in_twilio_mode_holds_neither_the_uvicorn_command_nor_idna_nor_the_encoding_guesser(
    home: Home, standin: TwilioStandin
) -> None:
    home.write_config(twilio_block(standin), keepalive={"enabled": False})
    imported_by_a_start(home)  # the first start creates the schema (through Alembic)
    held = imported_by_a_start(home, NOT_HELD + " twilio.rest requests.sessions").split()
    assert {"twilio.rest", "requests.sessions"} <= set(held), "in Twilio mode: the SDK is imported"
    assert [m for m in held if m not in ("twilio.rest", "requests.sessions")] == []
