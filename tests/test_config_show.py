"""`alarmd config show [--json]`: every effective value, its origin, and no secret anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alarmd.phonebook import mask
from tests.conftest import API_TOKEN, AUTH_TOKEN, Home, twilio_block

pytestmark = pytest.mark.system

CREDENTIAL_TOKEN = "credential-auth-token-9876543210"
ENV_API_TOKEN = "environment-api-token-0123456789"
ENV_SID = "AC" + "f" * 32


def shown_by_key(home: Home, **env: str) -> tuple[dict[str, dict[str, object]], str]:
    result = home.cli("config", "show", "--json", **env)
    answer = json.loads(result.stdout)
    return {item["key"]: item for item in answer["settings"]}, result.stdout + result.stderr


def test_config_show_masks_every_secret_and_names_each_origin(home: Home, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "twilio-auth-token").write_text(CREDENTIAL_TOKEN + "\n")
    home.write_config(twilio_block(None), graceSeconds=300)  # authToken and apiToken in the file too
    env = {"CREDENTIALS_DIRECTORY": str(credentials), "ALARMD_API_TOKEN": ENV_API_TOKEN,
           "TWILIO_ACCOUNT_SID": ENV_SID}
    by_key, _ = shown_by_key(home, **env)
    path = str(home.config_path)

    def seen(key: str) -> tuple[object, object, object]:
        return by_key[key]["value"], by_key[key]["origin"], by_key[key]["source"]

    assert seen("twilio.authToken") == ("********", "credential", "twilio-auth-token")
    assert seen("alarmd.apiToken") == ("********", "environment", "ALARMD_API_TOKEN")
    assert seen("twilio.accountSID") == (ENV_SID, "environment", "TWILIO_ACCOUNT_SID")
    assert seen("twilio.enabled") == (False, "file", path)
    assert seen("twilio.numberFrom") == ("+1 415-555-0100", "file", path)
    assert seen("twilio.phoneNumbers[1].number") == (mask("+441122334455"), "file", path)
    assert seen("twilio.phoneNumbers[1].secret") == (True, "file", path)
    assert seen("twilio.phoneNumbers[0].hidden") == (False, "default", None)
    assert seen("alarmd.graceSeconds") == (300, "file", path)
    assert seen("alarmd.redial.attempts") == (3, "default", None)
    assert seen("alarmd.timezone") == ("Europe/London", "file", path)
    assert {item["origin"] for item in by_key.values()} == {"file", "environment", "credential", "default"}

    text = home.cli("config", "show", **env).stdout
    lines = {line.split()[1]: line.split() for line in text.splitlines()}
    assert lines["twilio.authToken"] == ["credential:twilio-auth-token", "twilio.authToken", "********"]
    assert lines["alarmd.graceSeconds"] == [f"file:{path}", "alarmd.graceSeconds", "300"]
    assert lines["alarmd.limits.callsPerHour"] == ["default", "alarmd.limits.callsPerHour", "20"]
    assert len(lines) == len(by_key)

    # Not a secret's character, not a secret number's hidden digits, in either form.
    for both in (text, shown_by_key(home, **env)[1]):
        for secret in (CREDENTIAL_TOKEN, AUTH_TOKEN, ENV_API_TOKEN, API_TOKEN, "1122334455", "2233", "4455"):
            assert secret not in both, secret


def test_with_no_config_every_value_is_a_default(home: Home) -> None:
    by_key, _ = shown_by_key(home)
    assert home.cli("config", "show", "--json").stdout.startswith('{\n  "config": null,')
    assert {item["origin"] for item in by_key.values()} == {"default"}
    assert by_key["twilio.phoneNumbers"]["value"] == []
    assert by_key["alarmd.apiToken"]["value"] is None
    assert str(by_key["alarmd.apiToken"]["source"]).startswith("made on first start in ")
    assert by_key["alarmd.listen"]["value"] == "127.0.0.1:8421"


def test_a_broken_config_is_one_sentence(home: Home) -> None:
    home.config_path.write_text('{"alarmd": {"listen": 8421}}')
    result = home.cli("config", "show", check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "alarmd: alarmd.listen: expected a string, got 8421.\n"
