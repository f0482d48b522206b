"""`alarmd config check --online`: what would make the first real alarm fail, found out now.

Three things a wake-up call needs that only Twilio knows, asked through the official SDK
at the configured API base URL (alarmd.calls.dialers.twilio_account):
- the credentials work (GET the account; a wrong SID or token is Twilio's 20003);
- twilio.numberFrom is one of the account's own numbers (IncomingPhoneNumbers);
- on a trial account, every configured number is a verified caller ID (OutgoingCallerIds),
  since Twilio refuses to call any other (21219).
Each check gives a line when it passes and one sentence per problem when it does not;
secret numbers are masked in both. Network failure is one sentence: nothing else can be
checked then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alarmd.calls.dialers.environment import environment_problems
from alarmd.calls.dialers.twilio_account import TwilioAccount
from alarmd.calls.live import phonebook_of
from alarmd.config.settings import Settings
from alarmd.errors import DialError
from alarmd.phonebook import international

TOKEN_PLACES = "twilio.authToken, TWILIO_AUTH_TOKEN or the twilio-auth-token credential"
# For the offline `config check` as well: the environment that requests to Twilio would meet.
__all__ = ["Outcome", "check_online", "environment_problems"]


@dataclass
class Outcome:
    passed: list[str] = field(default_factory=list)  # one line per check that passed (and notes)
    problems: list[str] = field(default_factory=list)  # one sentence per problem

    @property
    def ok(self) -> bool:
        return not self.problems


def check_online(settings: Settings) -> Outcome:
    twilio, outcome = settings.twilio, Outcome()
    where = str(settings.client.config_path or "the config file (`alarmd config init` writes one)")
    missing = [key for key, value in (("twilio.accountSID", twilio.account_sid),
                                      ("the auth token", twilio.auth_token)) if not value]
    if missing:
        outcome.problems.append(f"there is no Twilio account to check: {' and '.join(missing)} "
                                f"{'is' if len(missing) == 1 else 'are'} not set; set twilio.accountSID in "
                                f"{where} and the token in {TOKEN_PLACES}.")
        return outcome
    phonebook = phonebook_of(settings)
    account = TwilioAccount(twilio, settings.redial.request_timeout_seconds)
    try:
        facts = account.facts()
    except DialError as exc:
        fix = (f"check twilio.accountSID in {where} and the token in {TOKEN_PLACES}" if exc.code == 20003
               else "check the network, and twilio.apiBaseURL if one is set")
        outcome.problems.append(f"{phonebook.mask_text(exc.message)}; {fix}.")
        return outcome
    outcome.passed.append(f"credentials: OK, account {facts.sid} ({facts.type or 'unknown type'}, "
                          f"{facts.status or 'unknown status'})")
    if facts.status not in (None, "active"):
        outcome.problems.append(f"the Twilio account {facts.sid} is {facts.status}: it places no calls until "
                                "it is active again.")
    try:
        _check_number_from(settings, account, where, outcome)
        if facts.type == "Trial":
            _check_caller_ids(settings, account, outcome)
        else:
            outcome.passed.append("caller IDs: not needed, a full account may call any number")
    except DialError as exc:
        outcome.problems.append(f"{phonebook.mask_text(exc.message)}.")
    if twilio.dry_run_reason:
        outcome.passed.append(f"mode: dry-run ({twilio.dry_run_reason}); set twilio.enabled to true in {where}, "
                              "then `alarmd config reload`, to call for real")
    return outcome


def _check_number_from(settings: Settings, account: TwilioAccount, where: str, outcome: Outcome) -> None:
    number_from = settings.twilio.number_from
    owned = account.incoming_numbers()
    choices = ", ".join(international(n) for n in owned) or "none yet: buy one in the Twilio console"
    if not number_from:
        outcome.problems.append(f"twilio.numberFrom is not set; set it in {where} to one of the account's "
                                f"numbers ({choices}).")
    elif number_from in owned:
        outcome.passed.append(f"numberFrom: OK, {international(number_from)} is a number of this account")
    else:
        outcome.problems.append(f"twilio.numberFrom {international(number_from)} is not a number of this account "
                                f"(its IncomingPhoneNumbers: {choices}); Twilio refuses calls from it (21210).")


def _check_caller_ids(settings: Settings, account: TwilioAccount, outcome: Outcome) -> None:
    entries = phonebook_of(settings).entries
    verified = set(account.caller_ids())
    unverified = [entry for entry in entries if entry.number not in verified]
    for entry in unverified:
        outcome.problems.append(f"twilio.phoneNumbers[{entry.index}] {entry.label()} is not a verified caller ID "
                                "of this trial account, so Twilio refuses to call it (21219); verify it in the "
                                "Twilio console (Phone Numbers, Verified Caller IDs).")
    if entries and not unverified:
        outcome.passed.append(f"caller IDs: OK, all {len(entries)} configured numbers are verified "
                              "(a trial account calls only those)")
    if not entries:
        outcome.passed.append("caller IDs: no numbers configured yet; a trial account calls only verified ones")
