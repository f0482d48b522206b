"""alarmd.cli.fast parses a command line exactly as the click commands would, or leaves it to them.

Two checks: its table of verbs and options is the click commands' own (names, kinds,
defaults, ranges, what is required); and for a corpus of command lines, good and bad,
each one fast takes gives the body the same values click gives it (the bodies are
replaced by recorders, so click's real parse, types and callbacks run), while every line
click refuses or answers itself (help, version) is left to click.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from alarmd.cli import fast, verbs
from alarmd.cli.bodies import DEFAULT
from alarmd.cli.commands import cli


def click_command(words: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for word in words:
        assert isinstance(command, click.Group)
        found = command.commands.get(word)
        assert found is not None, f"no click command {' '.join(words)}"
        command = found
    return command


def kind_of(option: click.Option) -> Any:
    """The click option's kind, in fast's terms."""
    if isinstance(option.type, click.IntRange):
        return option.type.min, option.type.max
    callback = getattr(option.callback, "__name__", "")
    kinds = {"_duration_option": fast.DURATION, "_attempts_option": fast.ATTEMPTS, "check": fast.NOT_EMPTY}
    if callback:
        return kinds[callback]
    if option.is_flag:
        return fast.FLAG if not option.secondary_opts else (fast.YES, fast.NO)
    assert option.type is click.STRING, f"{option.name}: a type fast does not know"
    return fast.TEXT


@pytest.mark.parametrize("words", list(fast.VERBS), ids=" ".join)
def test_the_table_is_the_click_commands_own(words: tuple[str, ...]) -> None:
    verb, command = fast.VERBS[words], click_command(words)
    options: dict[str, tuple[str, Any]] = {}
    arguments, defaults, required = [], {}, []
    for param in command.params:
        if isinstance(param, click.Argument):
            arguments.append(param.name)
            assert param.nargs == 1 and param.required is not verb.optional_argument
            continue
        assert isinstance(param, click.Option) and param.name and not param.multiple and param.nargs == 1
        if param.name == "help":
            continue
        kind = kind_of(param)
        if isinstance(kind, tuple) and kind[0] == fast.YES:
            options[param.opts[0]], options[param.secondary_opts[0]] = (param.name, fast.YES), (param.name, fast.NO)
        else:
            assert len(param.opts) == 1 and not param.secondary_opts, param.opts
            options[param.opts[0]] = (param.name, kind)
        # No default shows as None, False or (click >= 8.3) a sentinel of click's own.
        if isinstance(param.default, int | str) and not isinstance(param.default, bool):
            defaults[param.name] = param.default
        if param.required:
            required.append(param.name)
    assert (tuple(arguments), options, defaults, tuple(required)) == (
        verb.arguments, verb.options, verb.defaults, verb.required)


def test_every_verb_that_asks_the_daemon_is_in_the_table() -> None:
    offline = {("run",), ("db",), ("config", "init"), ("config", "show"), ("config", "check")}
    commands = {(name,) for name in cli.commands if name != "config"}
    commands |= {("config", name) for name in click_command(("config",)).commands}  # type: ignore[attr-defined]
    assert commands - offline == set(fast.VERBS)


# --- the same values as click, or click's to answer -----------------------------------

GOOD = [
    ["list"], ["list", "--json"], ["status", "--json"], ["show", "1"], ["show", "wake", "--json"],
    ["show", "--json", "wake"], ["remove", "7"], ["resume", "wake"], ["pause", "wake"],
    ["pause", "wake", "--until", "mon 07:00"], ["pause", "--until=in 3d", "wake"],
    ["skip", "wake"], ["skip", "wake", "--on", "2026-12-24"], ["unskip", "wake", "--from", "2026-12-24", "--to",
                                                               "2026-12-31"],
    ["dial", "0"], ["dial", "MOBILE"], ["history"], ["history", "--limit", "5", "--alarm", "wake", "--json"],
    ["history", "--limit=1000"], ["next"], ["next", "wake"], ["next", "--count", "3", "--explain"],
    ["next", "wake", "--count=100", "--json", "--explain"], ["web"], ["web", "--no-browser"],
    ["web", "--sign-out-all"], ["config", "reload"],
    ["add", "--to", "0", "--at", "07:00"], ["add", "--to=MOBILE", "--daily", "06:30", "--days", "mon-fri"],
    ["add", "--to", "0", "--cron", "30 6 * * 1-5", "--tz", "Europe/Paris", "--name", "work", "--grace", "0"],
    ["add", "--to", "0", "--at", "in 20m", "--ring", "45s", "--interval", "3m", "--attempts", "10",
     "--then", "OFFICE", "--say", "Wake up", "--require-human"],
    ["add", "--to", "0", "--at", "in 20m", "--ring", "default", "--attempts", " Default ", "--no-require-human"],
    ["add", "--to", "", "--at", ""], ["add", "--at", "07:00", "--daily", "07:00", "--to", "0"],
    ["edit", "wake", "--ring", "1m30s"], ["edit", "wake", "--no-then", "--no-say"], ["edit", "wake"],
    ["edit", "wake", "--to", "1", "--grace", "86400", "--interval", "DEFAULT"], ["edit", "wake", "--days", "sat,sun"],
    ["--config", "CONFIG", "list"], ["--config=CONFIG", "show", "wake"], ["show", "a/b"], ["show", ""],
    ["show", "wake", "--json"],
]
LEFT_TO_CLICK = [
    [], ["--help"], ["-h"], ["--version"], ["show", "--help"], ["show", "-h"], ["list", "--help"], ["nosuch"],
    ["show"], ["show", "1", "2"], ["show", "-1"], ["show", "-"], ["show", "--", "1"], ["show", "1", "--jsn"],
    ["show", "1", "--json", "--json"], ["show", "1", "--json=yes"], ["list", "extra"], ["remove"],
    ["history", "--limit", "0"], ["history", "--limit", "1001"], ["history", "--limit", "x"],
    ["history", "--limit", " 5"], ["history", "--limit", "٣"], ["history", "--limit"], ["next", "--count", "-1"],
    ["add", "--at", "07:00"], ["add", "--to"], ["add", "--to", "0", "--grace", "86401"],
    ["add", "--to", "0", "--grace", "1e3"], ["add", "--to", "0", "--ring", "1x"], ["add", "--to", "0", "--ring", ""],
    ["add", "--to", "0", "--attempts", "11"], ["add", "--to", "0", "--attempts", "0"],
    ["add", "--to", "0", "--then", ""], ["add", "--to", "0", "--say", "  "], ["add", "--to", "0", "--say", "-x"],
    ["add", "--to", "0", "--require-human=1"], ["add", "--to", "0", "--to", "1"],
    ["add", "--to", "0", "--require-human", "--no-require-human"], ["edit", "wake", "--on", "2026-12-24"],
    ["--config", "DIRECTORY", "list", "--json"], ["--config=", "show", "1"], ["--config"], ["--config", "CONFIG"],
    ["--config", "CONFIG", "--config", "CONFIG", "list"], ["show", "1", "--config", "CONFIG"], ["config"],
    ["config", "reload", "now"], ["config", "show"], ["web", "--no-browser", "x"],
]
OFFLINE = [["run"], ["db", "upgrade"], ["config", "check"], ["config", "init", "--number", "+44 7700 900123"]]


def click_values(args: list[str], env: dict[str, str | None]) -> tuple[str, str | None, dict[str, Any]] | None:
    """The body click runs for `args`, its config path and its values; None if it runs none."""
    seen: list[tuple[str, str | None, dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        def record(ctx: Any, /, **values: Any) -> None:
            seen.append((name, ctx.config_path, values))
        return record

    with pytest.MonkeyPatch.context() as patch:
        for verb in fast.VERBS.values():
            patch.setattr(verbs, verb.body, recorder(verb.body))
        CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert len(seen) <= 1
    return seen[0] if seen else None


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.json"
    config.write_text("{}")
    return {"CONFIG": str(config), "DIRECTORY": str(tmp_path)}


@pytest.mark.parametrize("environment", ["unset", "file", "directory", "empty"])
def test_what_fast_takes_it_parses_as_click_does(places: dict[str, str], environment: str) -> None:
    env: dict[str, str | None] = {"ALARMD_CONFIG": {
        "unset": None, "file": places["CONFIG"], "directory": places["DIRECTORY"], "empty": ""}[environment]}
    plain_env = {k: v for k, v in env.items() if v is not None}
    taken = 0
    for line in GOOD + LEFT_TO_CLICK:
        args = [places.get(word, word) for word in line]
        parsed = fast.parse(args, plain_env)
        expected = click_values(args, env)
        if parsed is None:
            continue
        taken += 1
        assert expected == (parsed.verb.body, parsed.config_path, parsed.params), args
    assert taken >= (len(GOOD) if environment in ("unset", "file") else 1)


def test_the_good_lines_are_taken_and_the_others_left_to_click(places: dict[str, str]) -> None:
    for line in GOOD:
        assert fast.parse([places.get(word, word) for word in line], {}) is not None, line
    for line in LEFT_TO_CLICK + OFFLINE:
        assert fast.parse([places.get(word, word) for word in line], {}) is None, line
    # A directory in ALARMD_CONFIG is click's to refuse, as --config DIRECTORY is.
    assert fast.parse(["show", "1"], {"ALARMD_CONFIG": places["DIRECTORY"]}) is None


def test_values_are_what_the_callbacks_make_of_them() -> None:
    parsed = fast.parse(["edit", "wake", "--ring", "1m30s", "--interval", "default", "--attempts", "3",
                         "--grace", "60", "--require-human"], {})
    assert parsed is not None
    values = {k: v for k, v in parsed.params.items() if v not in (None, False)}
    assert values == {"alarm": "wake", "ring_seconds": 90, "redial_interval_seconds": DEFAULT,
                      "redial_attempts": 3, "grace_seconds": 60, "require_human": True}


@pytest.mark.parametrize("colour", [True, False, None])
def test_a_session_writes_what_click_echo_writes(colour: bool | None, capsys: pytest.CaptureFixture[str]) -> None:
    from alarmd.cli.session import Session

    samples = ["plain", "\x1b[32mup\x1b[0m, \x1b[1mbold\x1b[0m", "a\x1b[2Kb\x1b[?25l", "two\nlines", "", "é ✓"]
    for text in samples:
        click.echo(text, color=colour)
        by_click = capsys.readouterr().out
        Session(None).write(text, colour)
        assert capsys.readouterr().out == by_click, (text, colour)


def test_alarmd_run_alone_is_taken_with_its_config(places: dict[str, str]) -> None:
    for line, config in ((["run"], None), (["--config", "CONFIG", "run"], places["CONFIG"]),
                         ([f"--config={places['CONFIG']}", "run"], places["CONFIG"])):
        parsed = fast.parse_run([places.get(word, word) for word in line], {})
        assert parsed is not None and parsed.verb is fast.RUN and parsed.config_path == config, line
    assert fast.parse_run(["run"], {"ALARMD_CONFIG": places["CONFIG"]}).config_path == places["CONFIG"]  # type: ignore[union-attr]
    for line in (["run", "--help"], ["run", "-h"], ["run", "x"], ["--config", "DIRECTORY", "run"], ["--config", "run"],
                 ["--config=", "run"], ["db", "upgrade"], ["list"], ["run", "--config", "CONFIG"]):
        assert fast.parse_run([places.get(word, word) for word in line], {}) is None, line
