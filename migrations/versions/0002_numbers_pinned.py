"""numbers pinned by name, ids never reused, secret recorded on each attempt (issues 12 and 13)

- alarms: to_name/to_number and then_name/then_number, whom the alarm calls as it was
  when set (the entry's name, its E.164 number then). Rows from before are left null
  here, because a migration cannot read the config: the daemon pins them at its next
  start, from the config as it is then (alarmd.alarms.pins), and logs that once.
- occurrences: to_name/to_number, pinned at the claim the same way. Calls from before
  are pinned here from their first attempt (whom they really called); the rest (missed,
  skipped, not yet dialled) at the daemon's next start, like the alarms.
- attempts: secret, whether the number was secret when the call was made (null before:
  unknown, so masked unless the config says otherwise).
- alarms and occurrences become AUTOINCREMENT tables, so a removed row's id is never
  given again (NMO holds them). SQLite only sets that when a table is created, so both
  are recreated; alarmd.store.db.upgrade turns foreign keys off around it, or dropping
  the old tables would null the calls' alarm_id and delete their attempts. Ids of alarms
  removed before the upgrade are known from their calls' claim keys and not given again
  either. On PostgreSQL, ids come from sequences, which never give an id twice: there the
  columns are only added.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL's id sequences never go back, so only SQLite's tables need recreating.
    sqlite = op.get_bind().dialect.name == "sqlite"
    recreate = "always" if sqlite else "auto"
    autoincrement = {"sqlite_autoincrement": True} if sqlite else {}
    with op.batch_alter_table("alarms", recreate=recreate, table_kwargs=autoincrement) as batch:
        batch.add_column(sa.Column("to_name", sa.String(100)))
        batch.add_column(sa.Column("to_number", sa.String(20)))
        batch.add_column(sa.Column("then_name", sa.String(100)))
        batch.add_column(sa.Column("then_number", sa.String(20)))
    with op.batch_alter_table("occurrences", recreate=recreate, table_kwargs=autoincrement) as batch:
        batch.add_column(sa.Column("to_name", sa.String(100)))
        batch.add_column(sa.Column("to_number", sa.String(20)))
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("secret", sa.Boolean))
    _pin_calls_from_their_attempts()
    if sqlite:
        _remember_removed_alarm_ids()


def _pin_calls_from_their_attempts() -> None:
    """An occurrence's first attempt is the truth of whom it called (the alarm's own number;
    a fallback comes later), whatever its index means in today's config."""
    first = "(SELECT {column} FROM attempts WHERE attempts.occurrence_id = occurrences.id ORDER BY id LIMIT 1)"
    op.execute(f"UPDATE occurrences SET to_number = {first.format(column='number')}, "
               f"to_name = {first.format(column='number_name')} "
               "WHERE EXISTS (SELECT 1 FROM attempts WHERE attempts.occurrence_id = occurrences.id)")


def _remember_removed_alarm_ids() -> None:
    """Start the alarms' sequence past every id an occurrence names ("alarm:<id>:<instant>")."""
    connection = op.get_bind()
    keys = connection.execute(sa.text("SELECT claim_key FROM occurrences WHERE claim_key LIKE 'alarm:%'"))
    named = [int(part) for (key,) in keys if (part := key.split(":")[1]).isdigit()]
    highest = max([*named, connection.execute(sa.text("SELECT coalesce(max(id), 0) FROM alarms")).scalar_one()])
    if highest == 0:
        return
    connection.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'alarms'"))
    connection.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('alarms', :seq)"),
                       {"seq": highest})


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("secret")
    recreate = "always" if op.get_bind().dialect.name == "sqlite" else "auto"
    with op.batch_alter_table("occurrences", recreate=recreate) as batch:
        batch.drop_column("to_number")
        batch.drop_column("to_name")
    with op.batch_alter_table("alarms", recreate=recreate) as batch:
        for column in ("then_number", "then_name", "to_number", "to_name"):
            batch.drop_column(column)
