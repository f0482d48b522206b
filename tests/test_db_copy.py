"""`alarmd db copy --to postgresql://…`: a household's SQLite database moves to PostgreSQL whole."""

from __future__ import annotations

import pytest

from tests import postgres
from tests.conftest import Daemon, Home, twilio_block, wait_until

pytestmark = pytest.mark.system

pg_cluster, pg_url = postgres.pg_cluster, postgres.pg_url


def test_db_copy_moves_alarms_and_history_to_postgresql(home: Home, pg_url: str, daemons: list[Daemon]) -> None:
    home.write_config(twilio_block(None))
    daemons.append(Daemon(home))
    home.cli("add", "--daily", "07:00", "--days", "mon-fri", "--to", "MOBILE", "--name", "work")
    home.cli("add", "--daily", "09:30", "--to", "OFFICE", "--name", "weekend")
    home.cli("dial", "MOBILE")
    wait_until(lambda: [c["status"] for c in home.cli_json("history")] == ["dry-run"])
    before_list, before_history = home.cli_json("list"), home.cli_json("history")
    daemons[0].stop()

    copied = home.cli("db", "copy", "--to", pg_url)
    assert copied.stdout.strip() == (f"Copied 2 alarms and 1 calls from {home.db_path} to {pg_url}. "
                                     f"Set alarmd.database to {pg_url} on every node, then start them.")

    home.write_config(twilio_block(None), database=pg_url)
    daemons.append(Daemon(home))
    assert home.cli_json("list") == before_list
    assert home.cli_json("history") == before_history
    added = home.cli("add", "--daily", "06:00", "--to", "MOBILE", "--name", "early")
    assert "Added alarm 3 (early)" in added.stdout  # ids go on past the copied ones


def test_db_copy_refuses_a_target_that_has_data(home: Home, pg_url: str, daemons: list[Daemon]) -> None:
    home.write_config(twilio_block(None), database=pg_url)
    daemons.append(Daemon(home))
    home.cli("add", "--daily", "07:00", "--to", "MOBILE")
    daemons[0].stop()
    home.write_config(twilio_block(None))
    home.cli("db", "upgrade")
    refused = home.cli("db", "copy", "--to", pg_url, check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("alarmd: the target database already has rows in alarms; "
                                      "copy into an empty one.")


@pytest.mark.parametrize("url", ["postgresql://alarmd:hunter2@db/alarmd", "postgresql://alarmd@/alarmd"])
def test_db_copy_refuses_a_bad_url_in_one_sentence(home: Home, url: str) -> None:
    home.write_config(twilio_block(None))
    refused = home.cli("db", "copy", "--to", url, check=False)
    assert refused.returncode == 2
    assert "hunter2" not in refused.stderr + refused.stdout
    assert refused.stderr.startswith("alarmd: --to: ") and refused.stderr.count("\n") == 1
