"""The package layout: every module imports, and the layers hold."""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import alarmd

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"schedule", "config", "store", "calls", "calls.dialers", "alarms", "api", "web", "cli", "daemon"}


def all_modules() -> list[str]:
    # __main__ runs the command when imported, so it is run as `python -m alarmd` elsewhere.
    return sorted(info.name for info in pkgutil.walk_packages(alarmd.__path__, "alarmd.")
                  if info.name != "alarmd.__main__")


def test_the_tree_has_the_packages_of_the_layers() -> None:
    found = {name.removeprefix("alarmd.") for name in all_modules()}
    assert found >= PACKAGES, f"missing packages: {sorted(PACKAGES - found)}"
    flat = sorted(p.name for p in (ROOT / "alarmd").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "clock.py", "defaults.py", "digits.py", "errors.py", "phonebook.py"]


def test_every_module_imports() -> None:
    names = all_modules()
    assert [importlib.import_module(name).__name__ for name in names] == names


@pytest.mark.system
def test_the_cli_imports_neither_the_daemon_nor_the_api_until_it_starts_the_daemon() -> None:
    probe = ("import sys, alarmd.cli.entry, alarmd.cli.commands, alarmd.cli.offline; "
             "print(sorted(m for m in sys.modules if m.startswith(('alarmd.daemon', 'alarmd.api', 'alarmd.alarms', "
             "'alarmd.calls', 'alarmd.store'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.system
def test_lint_imports_refuses_an_import_against_the_layers(tmp_path: Path) -> None:
    """The contracts in pyproject.toml are live: a dialer importing the store breaks them."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "lint-imports is not installed (the test extra has import-linter)"
    shutil.copytree(ROOT / "alarmd", tmp_path / "alarmd")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)}
    clean = subprocess.run([lint, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout[-2000:]
    dialer = tmp_path / "alarmd" / "calls" / "dialers" / "base.py"
    dialer.write_text(dialer.read_text() + "\nfrom alarmd.store import models  # noqa: E402\n")
    broken = subprocess.run([lint, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert "Dialers import only the base and config BROKEN" in broken.stdout
    assert "alarmd.calls.dialers.base -> alarmd.store.models" in broken.stdout
