"""The daemon as alarmd.service starts it: directories and credentials from systemd's variables.

systemd sets CONFIGURATION_DIRECTORY=/etc/alarmd, STATE_DIRECTORY=/var/lib/alarmd and
CREDENTIALS_DIRECTORY=/run/credentials/alarmd.service (copies of the LoadCredential=
files). Here the same layout lives under the test's directory; root's CLI then reaches
the daemon with `--config /etc/alarmd/config.json` and the api-token file beside it.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Home, twilio_block
from tests.twilio_standin import TwilioStandin

CRED_AUTH_TOKEN = "cred-auth-token-from-etc-alarmd-0123"
CRED_API_TOKEN = "cred-api-token-from-etc-alarmd-4567"


def systemd_layout(home: Home, standin: TwilioStandin) -> dict[str, Path]:
    etc = home.root / "etc" / "alarmd"
    etc.mkdir(parents=True)
    block = twilio_block(standin)
    del block["authToken"]  # only in the credential, as the README says
    config = {"twilio": block, "alarmd": {"listen": f"127.0.0.1:{home.port}", "timezone": "Europe/London"}}
    (etc / "config.json").write_text(json.dumps(config))
    (etc / "config.json").chmod(0o644)  # the dynamic user must read it
    for name, value in (("twilio-auth-token", CRED_AUTH_TOKEN), ("api-token", CRED_API_TOKEN)):
        (etc / name).write_text(value + "\n")
        (etc / name).chmod(0o600)
    credentials = home.root / "run" / "credentials" / "alarmd.service"
    credentials.mkdir(parents=True)
    for name in ("twilio-auth-token", "api-token"):
        shutil.copy(etc / name, credentials / name)
        (credentials / name).chmod(0o400)
    state = home.root / "var" / "lib" / "alarmd"
    return {"etc": etc, "credentials": credentials, "state": state}


@pytest.mark.system
def test_the_daemon_runs_on_systemds_directories_and_credentials(
    home: Home, standin: TwilioStandin, start_daemon
) -> None:
    paths = systemd_layout(home, standin)
    daemon = start_daemon(
        CONFIGURATION_DIRECTORY=str(paths["etc"]),
        STATE_DIRECTORY=str(paths["state"]),
        CREDENTIALS_DIRECTORY=str(paths["credentials"]),
    )
    assert (paths["state"] / "alarmd.db").is_file()
    # The API token came from the credential, so none was made in the state directory.
    assert not (paths["state"] / "api-token").exists()

    # Root's CLI: the config file by name, the token from the file beside it.
    config = str(paths["etc"] / "config.json")
    when = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    added = home.cli("--config", config, "add", "--at", when, "--to", "MOBILE")
    assert "Added alarm 1" in added.stdout
    assert "twilio mode" in home.cli("--config", config, "status").stdout

    # The call went out with the auth token from the credential.
    create = standin.wait_for_creates(1, timeout=10)[0]
    assert create.basic_auth == (ACCOUNT_SID, CRED_AUTH_TOKEN)

    # Any other token is refused: the credential is the one in force.
    refused = home.cli("--config", config, "status", check=False, ALARMD_API_TOKEN=CRED_API_TOKEN[::-1])
    assert refused.returncode == 1 and "bearer token" in refused.stderr

    # The README's `config check` "as the service will see it", with /etc/alarmd as the
    # credentials directory.
    check = home.cli("config", "check", CONFIGURATION_DIRECTORY=str(paths["etc"]),
                     STATE_DIRECTORY=str(paths["state"]), CREDENTIALS_DIRECTORY=str(paths["etc"]))
    assert "mode twilio" in check.stdout and str(paths["state"] / "alarmd.db") in check.stdout
    assert CRED_AUTH_TOKEN not in check.stdout + check.stderr

    time.sleep(0.5)
    log = daemon.log()
    for secret in (CRED_AUTH_TOKEN, CRED_API_TOKEN, AUTH_TOKEN):
        assert secret not in log
    assert "readable by every user" not in log  # no authToken in config.json


@pytest.mark.system
def test_the_cli_says_where_it_looked_for_the_token(home: Home, tmp_path: Path) -> None:
    etc = tmp_path / "elsewhere"
    etc.mkdir()
    (etc / "config.json").write_text(json.dumps({"alarmd": {"listen": f"127.0.0.1:{home.port}"}}))
    result = home.cli("--config", str(etc / "config.json"), "status", check=False)
    assert result.returncode == 1
    assert f"{etc / 'api-token'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_twilio_credential_means_dry_run(home: Home, standin: TwilioStandin) -> None:
    from alarmd.config.settings import load_settings

    paths = systemd_layout(home, standin)
    (paths["credentials"] / "twilio-auth-token").chmod(0o600)
    (paths["credentials"] / "twilio-auth-token").write_text("")
    settings = load_settings(None, env={
        "CONFIGURATION_DIRECTORY": str(paths["etc"]), "STATE_DIRECTORY": str(paths["state"]),
        "CREDENTIALS_DIRECTORY": str(paths["credentials"]),
    })
    assert settings.twilio.dry_run_reason == "no Twilio authToken configured"
    assert settings.api_token == CRED_API_TOKEN
    assert settings.database == paths["state"] / "alarmd.db"
