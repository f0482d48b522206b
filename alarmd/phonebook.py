"""The configured phone numbers: the only numbers alarmd will ever dial.

Alarms and API callers name an entry by index or name (DESIGN decision 6), never by
raw digits, so a leaked token cannot be used to ring a stranger. A person is their
entry's name: what an alarm calls is pinned (a Pin) when it is set, and followed
through later config edits by `Phonebook.follow`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

from alarmd.digits import is_digits
from alarmd.errors import UnknownNumber

NumberRef = int | str


@dataclass(frozen=True)
class PhoneNumber:
    index: int
    name: str | None
    number: str  # E.164
    hidden: bool = False
    secret: bool = False

    @property
    def display(self) -> str:
        """The number as people read it; masked when the entry is secret."""
        return mask(self.number) if self.secret else international(self.number)

    def label(self) -> str:
        return f"{self.name} ({self.display})" if self.name else self.display


def normalise(raw: str) -> str:
    """E.164 for a number written as NMO writes it ("+44 1122 334455").

    Raises ValueError when it cannot be a phone number. `is_possible_number` rather
    than `is_valid_number`: NMO's own example numbers are possible but not allocated.
    """
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Formatting is pure and slow (phonenumbers parses each time); a listing formats the same
# few numbers once per row.
@functools.lru_cache(maxsize=256)
def international(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask(e164: str) -> str:
    """Hide all but the country code, the first national digit and the last three.

    "+447700900098" -> "+44 7*** ***098".
    """
    text = international(e164)
    code, _, rest = text.partition(" ")
    digits = [i for i, ch in enumerate(rest) if ch.isdigit()]
    keep = set(digits[:1] + digits[-3:])
    masked = "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(rest))
    return f"{code} {masked}" if rest else code


def mask_in_text(text: str, entries: Sequence[PhoneNumber]) -> str:
    """Mask every secret number that appears in free text (a Twilio error, a log line)."""
    for entry in entries:
        if not entry.secret:
            continue
        # Longest first: a shorter form (the bare national digits) is part of the longer
        # ones, and replacing it first would leave the country code and a digit behind.
        for form in sorted(_written_forms(entry.number), key=len, reverse=True):
            text = text.replace(form, mask(entry.number))
    return text


def _written_forms(e164: str) -> set[str]:
    """The ways a number turns up in text: E.164, international, national, bare digits."""
    forms = {e164, international(e164)}
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms |= {national, re.sub(r"\D", "", national), str(parsed.national_number)}
    return {form for form in forms if len(form) >= 6}


@dataclass(frozen=True)
class Pin:
    """Whom something calls, recorded when it was set: the entry's name and its number then."""

    name: str | None
    number: str  # E.164

    def label(self) -> str:
        # Out of the config, whether it was secret is no longer known: masked.
        return self.name or mask(self.number)

    def not_configured(self) -> str:
        return f"{self.label()} is not configured"


def stored_label(ref: str, name: str | None, number: str | None) -> str:
    """How a stored target is named once it is not configured: its pin's name (or masked
    number), or as it was given ("HOME", "phone number 5") in a row from before pins."""
    if number is not None:
        return Pin(name, number).label()
    return f"phone number {ref}" if is_digits(ref.strip()) else ref


class Phonebook:
    def __init__(self, entries: Sequence[PhoneNumber], config_file: str | os.PathLike[str] | None = None):
        self.entries = tuple(entries)
        # The file the numbers came from (None: there is none yet), so that "not
        # configured" answers can say where to add one.
        self.config_file = str(config_file) if config_file is not None else None
        self._by_name = {e.name.casefold(): e for e in reversed(self.entries) if e.name is not None}
        self._by_number = {e.number: e for e in reversed(self.entries)}

    def pin(self, ref: NumberRef) -> Pin:
        """Resolve an index or name now and pin the entry it means (UnknownNumber if none)."""
        entry = self.resolve(ref)
        return Pin(entry.name, entry.number)

    def follow(self, pin: Pin) -> PhoneNumber | None:
        """The entry a pin means now: its name, at whatever number that has now (a new
        phone is a config edit); when the name is gone, the entry with its number (a
        rename); None when neither is configured. Never an index: a shift retargets nothing."""
        if pin.name is not None and (entry := self._by_name.get(pin.name.casefold())) is not None:
            return entry
        return self._by_number.get(pin.number)

    def target(self, ref: str, name: str | None, number: str | None) -> PhoneNumber:
        """The entry a stored target means now: pinned (name, number), or only as given
        (ref) in rows from before pins, until the daemon pins them. UnknownNumber, with
        the sentence a person reads, when it is not configured."""
        if number is None:
            try:
                return self.resolve(ref)
            except UnknownNumber:
                raise UnknownNumber(f"{stored_label(ref, name, number)} is not configured") from None
        entry = self.follow(Pin(name, number))
        if entry is None:
            raise UnknownNumber(Pin(name, number).not_configured())
        return entry

    def resolve(self, ref: NumberRef) -> PhoneNumber:
        """The entry for an index (0, "0") or a name ("MOBILE", any case)."""
        if isinstance(ref, bool):
            raise UnknownNumber(f"{ref!r} is not a phone number index or name.")
        if isinstance(ref, int) or (isinstance(ref, str) and is_digits(ref.strip())):
            index = int(ref)
            if 0 <= index < len(self.entries):
                return self.entries[index]
            raise UnknownNumber(self._out_of_range(index))
        name = ref.strip().casefold()
        for entry in self.entries:
            if entry.name is not None and entry.name.casefold() == name:
                return entry
        raise UnknownNumber(f"no phone number is named {ref!r}; {self.how_to_add()}.")

    def _out_of_range(self, index: int) -> str:
        count = len(self.entries)
        if count == 0:
            return f"there is no phone number {index}: twilio.phoneNumbers is empty; {self.how_to_add()}."
        return (f"there is no phone number {index}: twilio.phoneNumbers has {count} (0-{count - 1}); "
                f"{self.how_to_add()}.")

    def how_to_add(self) -> str:
        """The fix for a number that is not configured, as the end of a sentence."""
        if self.config_file is None:
            return "run `alarmd config init --number NUMBER` to write a config with your number"
        return f"add it to twilio.phoneNumbers in {self.config_file}, then run `alarmd config reload`"

    def by_number(self, number: str) -> PhoneNumber | None:
        """The entry with this E.164 number, or None once it is no longer configured."""
        return self._by_number.get(number)

    def mask_text(self, text: str) -> str:
        return mask_in_text(text, self.entries)
