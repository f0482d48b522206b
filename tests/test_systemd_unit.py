"""alarmd.service: what it promises, `systemd-analyze verify` clean, and its security score."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require

UNIT = Path(__file__).resolve().parent.parent / "alarmd.service"
ANALYZE = shutil.which("systemd-analyze")


@pytest.fixture
def needs_analyze() -> None:
    require(ANALYZE is not None, "systemd-analyze is not installed (Debian package: systemd)")

MAX_EXPOSURE = 1.1
# What is left after hardening, and why each stays. A new entry here is a regression.
REMAINING_EXPOSURES = {
    "PrivateNetwork=",                          # Twilio is on the internet
    "RestrictAddressFamilies=~AF_(INET|INET6)",  # ... reached over IPv4/IPv6
    "IPAddressDeny=",                           # ... at addresses Twilio does not pin down
    "RestrictAddressFamilies=~AF_UNIX",         # sd_notify and the journal
    "RootDirectory=/RootImage=",                # runs from a venv on the host's /
    "DeviceAllow=",                             # char-rtc:r, added by ProtectClock= itself
}


def directives(text: str) -> dict[str, list[str]]:
    """Key -> every value it is given (systemd allows repeats), comments dropped."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60)


def test_the_unit_says_what_the_issue_asks() -> None:
    unit = directives(UNIT.read_text())
    expected = {
        "Type": ["notify"], "NotifyAccess": ["main"], "WatchdogSec": ["30s"],
        "Restart": ["on-failure"], "RestartSec": ["5s"], "DynamicUser": ["yes"],
        "StateDirectory": ["alarmd"], "ConfigurationDirectory": ["alarmd"], "UMask": ["0077"],
        "ProtectSystem": ["strict"], "PrivateDevices": ["yes"], "CapabilityBoundingSet": [""],
        "MemoryDenyWriteExecute": ["yes"], "ExecStart": ["/opt/alarmd/venv/bin/alarmd run"],
        "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
        # `systemctl reload`: synchronous, so a refused config fails the reload (issue 14).
        "ExecReload": ["/opt/alarmd/venv/bin/alarmd config reload"],
    }
    for key, values in expected.items():
        assert unit.get(key) == values, key
    assert sorted(unit["LoadCredential"]) == [
        "api-token:/etc/alarmd/api-token",
        "twilio-auth-token:/etc/alarmd/twilio-auth-token",
    ]
    assert "@system-service" in unit["SystemCallFilter"]
    for key in ("StartLimitIntervalSec", "StartLimitBurst", "TimeoutStopSec"):
        assert unit.get(key), key
    # Started once the clock is set: a Raspberry Pi has no real-time clock.
    for key in ("After", "Wants"):
        assert "time-sync.target" in " ".join(unit[key]).split(), key
        assert "network-online.target" in " ".join(unit[key]).split(), key


def _copy_with_exec(tmp_path: Path, extra: str = "") -> Path:
    copy = tmp_path / "alarmd.service"
    # verify wants every command to exist; /opt/alarmd is not installed here.
    text = re.sub(r"^(ExecStart|ExecReload)=.*$", r"\1=/bin/true", UNIT.read_text(), flags=re.M)
    copy.write_text(text + extra)
    return copy


@pytest.mark.system
@pytest.mark.usefixtures("needs_analyze")
def test_verify_prints_nothing_for_the_unit(tmp_path: Path) -> None:
    result = analyze("verify", str(_copy_with_exec(tmp_path)))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.system
@pytest.mark.usefixtures("needs_analyze")
def test_verify_output_would_catch_an_unknown_key(tmp_path: Path) -> None:
    # The control for the test above: unknown keys only warn (exit 0), so only the
    # empty-output check notices them.
    result = analyze("verify", str(_copy_with_exec(tmp_path, "ProtectEverything=yes\n")))
    assert result.returncode == 0
    assert "Unknown key 'ProtectEverything'" in result.stdout + result.stderr


@pytest.mark.system
@pytest.mark.usefixtures("needs_analyze")
def test_security_exposure_is_at_most_1_1_and_what_is_left_is_known() -> None:
    text = analyze("security", "--offline=yes", str(UNIT))
    assert text.returncode == 0, text.stderr
    score = re.search(r"Overall exposure level for alarmd\.service: (\d+\.\d+)", text.stdout)
    assert score is not None, text.stdout
    assert float(score.group(1)) <= MAX_EXPOSURE, text.stdout
    # --threshold is exposure x 10; a non-zero exit means above it.
    assert analyze("security", "--offline=yes", "--threshold=11", str(UNIT)).returncode == 0

    listed = analyze("security", "--offline=yes", "--json=short", str(UNIT))
    assert listed.returncode == 0, listed.stderr
    exposed = {item["name"] for item in json.loads(listed.stdout) if item.get("exposure")}
    assert exposed == REMAINING_EXPOSURES


def test_the_readme_installs_what_the_unit_expects() -> None:
    readme = (UNIT.parent / "README.md").read_text()
    section = readme.split("## Run it as a service", 1)[1].split("\n## ", 1)[0]
    unit = directives(UNIT.read_text())
    assert unit["ExecStart"][0].split()[0].startswith("/opt/alarmd/venv/") and "/opt/alarmd/venv" in section
    for credential in unit["LoadCredential"]:
        assert credential.split(":", 1)[1] in section, credential
    assert "/etc/alarmd/config.json" in section
    for command in ("systemctl enable --now alarmd", "journalctl -u alarmd", "--config /etc/alarmd/config.json"):
        assert command in section, command
