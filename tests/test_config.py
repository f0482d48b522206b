"""Config: NMO's twilio block read unchanged, alarmd's own block, env and credentials."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alarmd.config.file import CREDENTIALS, ENVIRONMENT
from alarmd.config.origins import show
from alarmd.config.settings import load_settings
from alarmd.errors import ConfigError
from tests.conftest import AUTH_TOKEN, Home, twilio_block

NMO_CONFIG = {
    # As NMO writes it, with other modules beside it.
    "twilio": {
        "enabled": True,
        "accountSID": "AC0123456789abcdef0123456789abcdef",
        "authToken": AUTH_TOKEN,
        "numberFrom": "+1 415 555 0100",
        "callingURI": "http://twimlets.com/holdmusic?Bucket=com.twilio.music.ambient",
        "phoneNumbers": [
            {"name": "MOBILE", "number": "+44 7700 900123"},
            {"name": "HOME", "number": "+44 1122 334455", "hidden": True, "secret": True},
        ],
    },
    "sonos": {"enabled": False, "rooms": ["Kitchen"]},
    "httpServer": {"port": 8080},
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_nmos_block_is_read_unchanged_and_numbers_become_e164(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, NMO_CONFIG), env={"HOME": str(tmp_path)})
    twilio = settings.twilio
    assert twilio.dry_run_reason is None
    assert twilio.number_from == "+14155550100"
    assert [(e.name, e.number, e.hidden, e.secret) for e in twilio.phone_numbers] == [
        ("MOBILE", "+447700900123", False, False),
        ("HOME", "+441122334455", True, True),
    ]
    assert AUTH_TOKEN not in repr(settings)


def test_the_api_token_is_kept_out_of_every_repr(tmp_path: Path) -> None:
    token = "api-token-that-must-not-show-0123"
    settings = load_settings(write(tmp_path, NMO_CONFIG), env={"HOME": str(tmp_path), "ALARMD_API_TOKEN": token})
    assert settings.api_token == token
    assert token not in repr(settings) and token not in repr(settings.client) and token not in str(settings)


def test_no_config_file_means_dry_run_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, env={"HOME": str(tmp_path)})
    assert settings.client.config_path is None
    assert settings.twilio.dry_run_reason == "twilio.enabled is not true"
    assert (settings.client.listen_host, settings.client.listen_port) == ("127.0.0.1", 8421)
    assert settings.twilio.calling_uri.startswith("http://twimlets.com/holdmusic")
    assert settings.keepalive.every_days == 29


def test_enabled_without_credentials_is_dry_run_and_says_why(tmp_path: Path) -> None:
    block = dict(NMO_CONFIG["twilio"], authToken="")  # type: ignore[arg-type]
    settings = load_settings(write(tmp_path, {"twilio": block}), env={"HOME": str(tmp_path)})
    assert settings.twilio.dry_run_reason == "no Twilio authToken configured"


def test_environment_and_credentials_override_the_file(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "twilio-auth-token").write_text("from-credential\n")
    (creds / "api-token").write_text("api-from-credential\n")
    env = {"HOME": str(tmp_path), "CREDENTIALS_DIRECTORY": str(creds), "ALARMD_LISTEN": "127.0.0.1:9999",
           "ALARMD_DB": str(tmp_path / "x.db"), "ALARMD_TWILIO_API_URL": "http://127.0.0.1:4010/",
           "TWILIO_ACCOUNT_SID": "ACfromenv"}
    settings = load_settings(write(tmp_path, NMO_CONFIG), env=env)
    assert settings.twilio.auth_token == "from-credential"
    assert settings.api_token == "api-from-credential"
    assert settings.client.listen_port == 9999
    assert settings.database == tmp_path / "x.db"
    assert settings.twilio.api_base_url == "http://127.0.0.1:4010"
    assert settings.twilio.account_sid == "ACfromenv"


@pytest.mark.parametrize(("data", "message"), [
    ("{\"twilio\": {", "config.json: not valid JSON (Expecting property name enclosed in double quotes"),
    ({"twilio": {"phoneNumbers": [{"number": "+44 7700 900123"}, {"number": "+44 12"}]}},
     'twilio.phoneNumbers[1].number: "+44 12" is not a valid phone number.'),
    ({"twilio": {"phoneNumbers": [{"number": "+44 7700 900123"}]}, "alarmd": {"keepalive": {"number": 3}}},
     "alarmd.keepalive.number: 3 is not an index of twilio.phoneNumbers (it has 1)."),
    ({"twilio": {"enabled": "yes"}}, 'twilio.enabled: expected true or false, got "yes".'),
    ({"alarmd": {"timezone": "Europe/Londn"}}, "alarmd.timezone: 'Europe/Londn' is not an IANA time zone"),
    ({"alarmd": {"listen": "localhost"}}, "alarmd.listen: 'localhost' is not HOST:PORT"),
    ({"alarmd": {"keepalive": {"everyDays": 45}}}, "alarmd.keepalive.everyDays: 45 is out of range"),
    ({"alarmd": {"keepalive": {"number": "²"}}},
     "alarmd.keepalive.number: no entry of twilio.phoneNumbers is named '²'."),
    ({"alarmd": {"redial": {"pollSeconds": 0}}}, "alarmd.redial.pollSeconds: 0 is out of range (from 0.01 to 10)."),
    ({"alarmd": {"redial": {"pollSeconds": float("nan")}}}, "alarmd.redial.pollSeconds: nan is out of range"),
    ({"alarmd": {"limits": {"dialsPerHour": None}}}, "alarmd.limits.dialsPerHour: expected a whole number, got null."),
    ({"twilio": {"phoneNumbers": "MOBILE"}}, "twilio.phoneNumbers: expected a list of {name, number} objects."),
    ({"twilio": {"phoneNumbers": [{"name": "MOBILE"}]}},
     "twilio.phoneNumbers[0].number: missing; each entry needs a number."),
    ({"twilio": {"phoneNumbers": [{"name": "7", "number": "+44 7700 900123"}]}},
     "twilio.phoneNumbers[0].name: '7' would be read as an index; use a word."),
    ({"alarmd": {"keepalive": []}}, "alarmd.keepalive: expected a JSON object."),
    ([1, 2], "the top level must be a JSON object"),
])
def test_each_bad_value_names_its_key(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, data), env={"HOME": str(tmp_path)})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.system
@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"twilio": {"phoneNumbers": [{"number": "+44 12"}]}}),
     'twilio.phoneNumbers[0].number: "+44 12" is not a valid phone number.'),
    (json.dumps({"twilio": {"phoneNumbers": [{"number": "+44 7700 900123"}]},
                 "alarmd": {"keepalive": {"number": 2}}}),
     "alarmd.keepalive.number: 2 is not an index of twilio.phoneNumbers"),
])
@pytest.mark.parametrize("verb", [("run",), ("config", "check")])
def test_a_bad_config_stops_the_command_with_one_line_and_exit_2(
    home: Home, content: str, fragment: str, verb: tuple[str, ...]
) -> None:
    home.config_path.write_text(content)
    result = home.cli(*verb, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.system
def test_a_number_that_is_not_ascii_digits_is_a_name_in_one_sentence(home: Home) -> None:
    """"²" passes str.isdigit() but is no index: config check names the key instead of crashing."""
    home.write_config(twilio_block(None), keepalive={"number": "²"})
    result = home.cli("config", "check", check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "alarmd: alarmd.keepalive.number: no entry of twilio.phoneNumbers is named '²'.\n"


def test_camelcase_is_the_only_spelling_the_file_is_read_in(tmp_path: Path) -> None:
    """Python builds the blocks by field name; in the file, only NMO's names count (others are ignored)."""
    data = {"alarmd": {"keepalive": {"every_days": 3, "everyDays": 7}, "grace_seconds": 5}}
    settings = load_settings(write(tmp_path, data), env={"HOME": str(tmp_path)})
    assert (settings.keepalive.every_days, settings.grace_seconds) == (7, 600)


@pytest.mark.parametrize("key", sorted({*ENVIRONMENT, *CREDENTIALS}))
def test_each_override_is_loaded_and_shown_from_the_one_table(tmp_path: Path, key: str) -> None:
    values = {"alarmd.listen": "127.0.0.1:9999", "alarmd.database": str(tmp_path / "x.db"),
              "twilio.apiBaseURL": "http://127.0.0.1:4010"}
    value = values.get(key, "from-outside")
    env = {"HOME": str(tmp_path)}
    if key in CREDENTIALS:
        (tmp_path / "creds").mkdir()
        (tmp_path / "creds" / CREDENTIALS[key]).write_text(value)
        env["CREDENTIALS_DIRECTORY"] = str(tmp_path / "creds")
        expected = ("credential", CREDENTIALS[key])
    else:
        env[ENVIRONMENT[key]] = value
        expected = ("environment", ENVIRONMENT[key])
    _, shown = show(write(tmp_path, NMO_CONFIG), env)
    (row,) = [item for item in shown if item.key == key]
    assert (row.origin, row.source) == expected
    assert row.value in (value, "********")


@pytest.mark.system
def test_what_the_cli_reads_to_reach_the_daemon_does_not_import_pydantic() -> None:
    probe = ("import sys, alarmd.config.file, alarmd.config.apitoken; "
             "alarmd.config.file.load_client_settings(None, {'HOME': '/nonexistent'}); "
             "print('pydantic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.system
def test_a_missing_named_config_file_is_an_error(home: Home) -> None:
    result = home.cli("--config", str(home.root / "nope.json"), "config", "check", check=False)
    assert result.returncode == 2
    assert "no such config file" in result.stderr


@pytest.mark.system
def test_with_no_config_file_the_daemon_starts_in_dry_run(home: Home, start_daemon) -> None:
    daemon = start_daemon(ALARMD_LISTEN=f"127.0.0.1:{home.port}")
    assert not home.config_path.exists()
    assert "DRY-RUN mode" in daemon.log().splitlines()[0]
    # The token it made for itself is where the CLI of the same user finds it.
    token_file = home.root / "home" / ".local" / "state" / "alarmd" / "api-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    listed = home.cli("list", ALARMD_LISTEN=f"127.0.0.1:{home.port}")
    assert "0 alarms listed." in listed.stdout
    code, _ = daemon.stop()
    assert code == 0
    assert token_file.read_text().strip() not in daemon.log()


@pytest.mark.system
def test_config_check_reports_the_mode(home: Home) -> None:
    home.write_config(twilio_block(None))
    result = home.cli("config", "check")
    assert "OK; mode dry-run (twilio.enabled is not true); 2 phone numbers" in result.stdout
