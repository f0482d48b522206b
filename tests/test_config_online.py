"""`alarmd config check --online` against the local stand-in of Twilio, through the real SDK.

The stand-in answers the account, its IncomingPhoneNumbers and OutgoingCallerIds in
Twilio's shapes, and refuses a wrong auth token with 20003.
"""

from __future__ import annotations

import pytest

from alarmd.phonebook import mask
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, MOBILE, OFFICE, Home, free_port, twilio_block
from tests.twilio_standin import TwilioStandin

pytestmark = pytest.mark.system

OWNED = "+14155550100"  # conftest's NUMBER_FROM, as Twilio lists it
HOME_NUMBER = "+44 20 7946 0018"


def check(home: Home) -> tuple[int, list[str], list[str]]:
    result = home.cli("config", "check", "--online", check=False)
    assert "Traceback" not in result.stderr and AUTH_TOKEN not in result.stdout + result.stderr
    return result.returncode, result.stdout.splitlines(), result.stderr.splitlines()


@pytest.fixture
def account(standin: TwilioStandin) -> TwilioStandin:
    standin.auth_token = AUTH_TOKEN
    standin.incoming_numbers = [OWNED, "+14155550111"]
    return standin


@pytest.mark.parametrize("kind", ["Full", "Trial"])
def test_all_good_is_exit_0_with_a_line_per_check(home: Home, account: TwilioStandin, kind: str) -> None:
    account.account_type = kind
    account.caller_ids = ["+447700900123", "+441122334455"]
    home.write_config(twilio_block(account))
    code, out, err = check(home)
    assert (code, err) == (0, [])
    assert out[1:] == [
        f"credentials: OK, account {ACCOUNT_SID} ({kind}, active)",
        "numberFrom: OK, +1 415-555-0100 is a number of this account",
        "caller IDs: OK, all 2 configured numbers are verified (a trial account calls only those)" if kind == "Trial"
        else "caller IDs: not needed, a full account may call any number",
    ]
    reads = account.account_reads()
    assert [r.path.rsplit("/", 1)[-1] for r in reads] == [
        f"{ACCOUNT_SID}.json", "IncomingPhoneNumbers.json", *(["OutgoingCallerIds.json"] if kind == "Trial" else [])]
    assert {r.basic_auth for r in reads} == {(ACCOUNT_SID, AUTH_TOKEN)}
    assert account.creates() == []  # checking places no call


def test_a_trial_account_names_each_number_that_is_not_verified(home: Home, account: TwilioStandin) -> None:
    account.account_type = "Trial"
    account.caller_ids = ["+447700900123"]  # MOBILE only
    home.write_config(twilio_block(account, phoneNumbers=[
        {"name": "MOBILE", "number": MOBILE}, {"name": "OFFICE", "number": OFFICE, "secret": True},
        {"name": "HOME", "number": HOME_NUMBER}]))
    code, out, err = check(home)
    assert code == 1
    assert err == [
        f"alarmd: twilio.phoneNumbers[1] OFFICE ({mask('+441122334455')}) is not a verified caller ID of this trial "
        "account, so Twilio refuses to call it (21219); verify it in the Twilio console (Phone Numbers, Verified "
        "Caller IDs).",
        "alarmd: twilio.phoneNumbers[2] HOME (+44 20 7946 0018) is not a verified caller ID of this trial account, "
        "so Twilio refuses to call it (21219); verify it in the Twilio console (Phone Numbers, Verified Caller IDs).",
    ]
    assert "1122334455" not in "\n".join(out + err)  # OFFICE is secret
    assert out[1].startswith("credentials: OK") and out[2].startswith("numberFrom: OK")


def test_number_from_not_owned_by_the_account(home: Home, account: TwilioStandin) -> None:
    account.incoming_numbers = ["+14155550111"]
    home.write_config(twilio_block(account))
    code, out, err = check(home)
    assert code == 1
    assert err == ["alarmd: twilio.numberFrom +1 415-555-0100 is not a number of this account (its "
                   "IncomingPhoneNumbers: +1 415-555-0111); Twilio refuses calls from it (21210)."]
    assert out[1].startswith("credentials: OK")


def test_wrong_credentials_are_one_sentence(home: Home, account: TwilioStandin) -> None:
    account.auth_token = "the-token-twilio-knows-0123456789"
    home.write_config(twilio_block(account))
    code, out, err = check(home)
    assert (code, out[1:]) == (1, [])
    assert err == [f"alarmd: Twilio refused: Twilio rejected the account SID or auth token (20003); check "
                   f"twilio.accountSID in {home.config_path} and the token in twilio.authToken, TWILIO_AUTH_TOKEN "
                   "or the twilio-auth-token credential."]
    assert len(account.account_reads()) == 1  # nothing else asked with credentials that do not work


def test_no_network_is_one_sentence(home: Home) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    home.write_config(twilio_block(None, enabled=True, apiBaseURL=nowhere))
    code, out, err = check(home)
    assert (code, out[1:]) == (1, [])
    assert err == [f"alarmd: could not reach Twilio (ConnectionError) at {nowhere}; check the network, and "
                   "twilio.apiBaseURL if one is set."]


def test_no_account_configured_says_where_to_set_it(home: Home) -> None:
    home.write_config(twilio_block(None, accountSID="", authToken=""))
    code, _, err = check(home)
    assert code == 1
    assert err == [f"alarmd: there is no Twilio account to check: twilio.accountSID and the auth token are not set; "
                   f"set twilio.accountSID in {home.config_path} and the token in twilio.authToken, "
                   "TWILIO_AUTH_TOKEN or the twilio-auth-token credential."]
