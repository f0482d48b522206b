"""NMO's flags on the page: `secret` numbers never reach it in any form, `hidden` ones get no test-call button.

The API masks a secret number ("+44 1*** ***455"); the page shows not even that, nor the
entry's name: an alarm or a call that involves one says "a private number". Every
number shown and every free text from a call (Twilio's errors, the daemon's details)
passes through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from alarmd.phonebook import Phonebook, PhoneNumber, mask

PRIVATE = "a private number"


class Privacy:
    def __init__(self, phonebook: Callable[[], Phonebook]):
        # Asked each time: a config reload may make a number secret, or hidden, or remove it.
        self._phonebook = phonebook

    @property
    def phonebook(self) -> Phonebook:
        return self._phonebook()

    @property
    def _secret(self) -> list[PhoneNumber]:
        return [e for e in self.phonebook.entries if e.secret]

    def pickable(self) -> list[PhoneNumber]:
        """The numbers a form offers: by name, neither hidden nor secret."""
        return [e for e in self.phonebook.entries if not e.secret and not e.hidden]

    def testable(self) -> list[PhoneNumber]:
        """The numbers that get a "Test call" button."""
        return self.pickable()

    def is_secret(self, number: dict[str, Any] | None) -> bool:
        """Whether the service's view of a number ({ref, index, name, number}) is a secret one."""
        if not number:
            return False
        if "secret" in number:
            return bool(number["secret"])
        index, entries = number.get("index"), self.phonebook.entries
        if isinstance(index, int) and 0 <= index < len(entries):
            return entries[index].secret
        shown = str(number.get("number") or "")
        return "*" in shown or any(shown == mask(e.number) for e in self._secret)

    def who(self, number: dict[str, Any] | None) -> str:
        """The number as the page names it."""
        if not number:
            return "nobody"
        if number.get("index") is None:
            # Not configured now: its pinned name, never its (masked) digits.
            return f"{number.get('name') or 'a number'} (no longer configured)"
        if self.is_secret(number):
            return PRIVATE
        return str(number.get("name") or number.get("number") or number.get("ref"))

    def attempt_who(self, attempt: dict[str, Any]) -> str:
        shown = str(attempt.get("number") or "")
        if "*" in shown or any(shown == mask(e.number) for e in self._secret):
            return PRIVATE
        return str(attempt.get("number_name") or shown)

    def scrub(self, text: str | None) -> str:
        """Free text with every secret number (whole or masked) and its entry's name replaced."""
        if not text:
            return ""
        phonebook = self.phonebook
        text = phonebook.mask_text(text)
        for entry in (e for e in phonebook.entries if e.secret):
            text = text.replace(mask(entry.number), PRIVATE)
            if entry.name:
                text = re.sub(rf"\b{re.escape(entry.name)}\b", PRIVATE, text, flags=re.IGNORECASE)
        # What is left of a masked number anywhere (a form mask_text does not know).
        return re.sub(r"\+?\d[\d ]*\*[\d* ]*\d", PRIVATE, text)
